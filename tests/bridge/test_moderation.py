"""Moderation end to end through the real relay and Redis, with in-memory bots: what members
and moderators see in their chats, and what the bridge keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis.asyncio

from bridge.model import keys
from bridge.model.envelope import Envelope, Sender
from bridge.moderation.audit import Audit
from tests.harness import committed, eventually, eventually_async, memory_config, running
from tests.helpers import BODY_CANARY
from tests.memory_bot import NETWORK, ChatMessage


def copies(chat: str, needle: str) -> list[ChatMessage]:
    return [m for m in NETWORK.seen_in(chat) if needle in m.text]


def answers(chat: str) -> list[str]:
    """The bridge's own answers and notices in a chat."""
    return [m.text for m in NETWORK.seen_in(chat) if m.notice]


async def settled(net: Any, chat: str = "a1") -> None:
    """Everything posted before in ``chat`` has been relayed (a marker command's answer has
    come back), and every delivery planned so far has been made: each bot's outbox is empty.
    Without the second, a copy the relay planned for another bot's chat could still be on its
    way when a test asserts that chat never got it."""
    before = len(answers(chat))
    await net.bot(chat[0]).command(chat, "help")
    await eventually(lambda: len(answers(chat)) > before, what="the help answer")
    await committed(net)


async def test_moderated_nothing_crosses_until_a_moderator_shares(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    cfg = memory_config(tmp_path, redis_url, relay="moderated")
    async with running(cfg) as (_, net):
        cdmx = net.bot("a")
        root = await cdmx.post("a1", f"Desalojo en la calle Luna {BODY_CANARY}", name="Ana")
        reply = await cdmx.post("a1", "Necesitamos gente a las 6", who="leo", name="Leo",
                                reply_to=root)  # fmt: skip
        await cdmx.post("a1", "Otro tema local", who="leo", name="Leo")
        await settled(net)
        assert net.seen_in("b1") == []
        assert net.seen_in("c1") == []

        # a member who is not a moderator tries: refused, audited, nothing crosses
        await cdmx.command("a1", "share", reply_to=root, who="leo")
        await eventually(lambda: any(a.startswith("Solo quienes moderan") for a in answers("a1")))
        await settled(net)
        assert net.seen_in("b1") == []

        # an admin of the chat shares by replying to the reply: the whole thread crosses
        await cdmx.command("a1", "share", reply_to=reply, who="mod", admin=True)
        await eventually(lambda: len(net.seen_in("b1")) == 2 and len(net.seen_in("c1")) == 2)
        assert [m.text.split(":")[0] for m in net.seen_in("b1")] == ["Ana (CDMX)", "Leo (CDMX)"]
        assert net.seen_in("b1")[1].reply_to == net.seen_in("b1")[0].id  # still a reply
        confirmation = next(a for a in answers("a1") if a.startswith("Compartido"))
        assert "Berlin" in confirmation
        assert "NYC" in confirmation
        assert not copies("b1", "Otro tema")  # another thread stays home

        # a later reply follows; a reply from Berlin comes back to CDMX as a reply
        await cdmx.post("a1", "Ya somos 20", name="Ana", reply_to=reply)
        await eventually(lambda: len(copies("b1", "Ya somos 20")) == 1)
        berlin_copy = copies("b1", "Desalojo")[0]
        await net.bot("b").post("b1", "Solidarität aus Berlin", name="Jonas",
                                reply_to=berlin_copy.id)  # fmt: skip
        await eventually(lambda: len(copies("a1", "Solidarität")) == 1)
        assert copies("a1", "Solidarität")[0].reply_to == root
        await eventually(lambda: len(copies("c1", "Solidarität")) == 1)  # and on to NYC

        # unshare: later replies stay home, copies already sent stay
        await cdmx.command("a1", "unshare", reply_to=root, who="mod", admin=True)
        await eventually(
            lambda: any(a.startswith("Las siguientes respuestas") for a in answers("a1"))
        )
        await cdmx.post("a1", "Solo para nosotros", name="Ana", reply_to=root)
        await settled(net)
        assert not copies("b1", "Solo para nosotros")
        assert copies("b1", "Desalojo")

    trail = await Audit(redis_client, 90).read()
    seen = [(e.who, e.action, e.outcome) for e in trail]
    assert ("memory:leo", "share", "refused") in seen
    assert ("memory:mod", "share", "done") in seen
    assert ("memory:mod", "unshare", "done") in seen
    assert all("Desalojo" not in e.detail for e in trail)  # ids, never text


async def test_a_moderator_reaction_shares_and_a_member_reaction_does_not(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url, relay="moderated")) as (_, net):
        first = await net.bot("a").post("a1", "Marcha el sábado", name="Ana")
        await net.bot("a").react("a1", first, "🕊️", who="leo")  # a member: just a reaction
        await settled(net)
        assert net.seen_in("b1") == []
        await net.bot("a").react("a1", first, "🕊", who="mod", admin=True)
        await eventually(lambda: len(copies("b1", "Marcha")) == 1)


async def test_a_premium_moderators_several_reactions_share_once(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    """Telegram gives every reaction a member shows in each update: 🕊 beside 👍 shares, and
    adding ❤ beside them later does not share again (nor say so again)."""
    async with running(memory_config(tmp_path, redis_url, relay="moderated")) as (_, net):
        first = await net.bot("a").post("a1", "Marcha el sábado", name="Ana")

        async def shows(*emoji: str, n: int) -> None:
            await net.bot("a").ctx.emit(Envelope(
                key=f"t:react:{n}", kind="reaction", bot="a", chat="a1", message_id=first,
                sender=Sender(id="memory:mod", name="mod"), reaction=emoji[0],
                reactions=emoji, admin=True,
            ))  # fmt: skip

        await shows("👍", "🕊", n=1)
        await eventually(lambda: len(copies("b1", "Marcha")) == 1, what="shared")
        await eventually(lambda: any("Compartido" in a for a in answers("a1")), what="said")
        await shows("👍", "🕊", "❤", n=2)
        await settled(net)
        assert len([a for a in answers("a1") if "Compartido" in a]) == 1
        assert len(copies("b1", "Marcha")) == 1


async def test_retract_deletes_every_copy_and_purges_the_text(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url, relay="moderated")) as (_, net):
        cdmx = net.bot("a")
        secret = await cdmx.post("a1", "La dirección es Calle Sol 5", name="Ana")
        await cdmx.command("a1", "share", reply_to=secret, who="mod", admin=True)
        await cdmx.command("a1", "share", "confirm", who="mod", admin=True)  # an address
        await eventually(lambda: len(copies("b1", "Calle Sol")) == 1)
        await eventually(lambda: len(copies("c1", "Calle Sol")) == 1)
        assert await redis_client.exists(keys.recent("cdmx", secret))

        # someone else (not the author, not a moderator) cannot
        await net.bot("b").command("b1", "retract", reply_to=copies("b1", "Calle Sol")[0].id,
                                   who="jonas")  # fmt: skip
        await eventually(
            lambda: any(a.startswith("Nur wer es geschrieben hat") for a in answers("b1"))
        )
        await settled(net, "b1")
        assert len(copies("b1", "Calle Sol")) == 1

        # the author can, from her own room
        await cdmx.command("a1", "retract", reply_to=secret, who="ana")
        await eventually(lambda: not copies("b1", "Calle Sol") and not copies("c1", "Calle Sol"))
        assert any(a.startswith("Retirado") for a in answers("a1"))
        # the text is gone from everything the bridge holds
        found = []
        async for key in redis_client.scan_iter("tl:*"):
            kind = await redis_client.type(key)
            if kind == "string":
                found.append(str(await redis_client.get(key)))
            elif kind == "stream":
                found.extend(str(e) for e in await redis_client.xrange(key))
            elif kind == "hash":
                found.extend(str(v) for v in (await redis_client.hgetall(key)).values())
        assert not any("Calle Sol" in text for text in found)

    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert ("memory:jonas", "retract", "refused") in trail
    assert ("memory:ana", "retract", "done") in trail


async def test_tagged_messages_cross_with_their_thread(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    circles = [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": "tagged",
                "tags": ["huelga"]}]  # fmt: skip
    async with running(memory_config(tmp_path, redis_url, circles=circles)) as (_, net):
        cdmx = net.bot("a")
        await cdmx.post("a1", "Sin etiqueta, solo aquí", name="Ana")
        tagged = await cdmx.post("a1", "Convocatoria #Huelga de inquilinas", name="Ana")
        await cdmx.post("a1", "Llevamos pancartas", name="Leo", who="leo", reply_to=tagged)
        await eventually(lambda: len(copies("b1", "pancartas")) == 1)
        assert copies("b1", "#Huelga")
        await settled(net)
        assert not copies("b1", "Sin etiqueta")


async def test_pause_stops_everything_into_and_out_of_a_room_until_resume(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await net.bot("b").command("b1", "pause", who="mod", admin=True)
        await eventually(lambda: any(a.startswith("Pausiert") for a in answers("b1")))
        await net.bot("b").post("b1", "Aus Berlin während der Pause", name="Jonas")
        await net.bot("a").post("a1", "Hacia Berlín durante la pausa", name="Ana")
        await eventually(lambda: len(copies("c1", "Hacia Berlín")) == 1)
        await settled(net, "b1")
        assert not copies("b1", "Hacia Berlín")
        assert not copies("a1", "Aus Berlin")
        assert not copies("c1", "Aus Berlin")

        await net.bot("b").command("b1", "resume", who="mod", admin=True)
        await eventually(lambda: any(a.startswith("Weiter geht's") for a in answers("b1")))
        await net.bot("a").post("a1", "Después de la pausa", name="Ana")
        await eventually(lambda: len(copies("b1", "Después de la pausa")) == 1)


async def test_an_opted_out_person_never_crosses_but_the_thread_does(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        cdmx = net.bot("a")
        await cdmx.command("a1", "optout", who="leo")
        await eventually(lambda: any(a.startswith("Tus mensajes") for a in answers("a1")))
        root = await cdmx.post("a1", "Asamblea hoy", name="Ana")
        await cdmx.post("a1", "Yo no quiero salir de aquí", name="Leo", who="leo", reply_to=root)
        await cdmx.post("a1", "Nos vemos ahí", name="Ana", reply_to=root)
        await eventually(lambda: len(copies("b1", "Nos vemos")) == 1)
        assert copies("b1", "Asamblea hoy")
        assert not copies("b1", "no quiero salir")
        await cdmx.command("a1", "optin", who="leo")
        await cdmx.post("a1", "Ahora sí", name="Leo", who="leo")
        await eventually(lambda: len(copies("b1", "Ahora sí")) == 1)


async def test_pseudonyms_are_stable_per_circle_and_hide_who_wrote(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    template = "{pseudonym} ({room})"
    circles = [
        {"id": "north", "rooms": ["cdmx", "berlin"], "relay": "all", "attribution": template},
        {"id": "south", "rooms": ["cdmx", "nyc"], "relay": "all", "attribution": template},
    ]
    cfg = memory_config(tmp_path, redis_url, circles=circles, pseudonym_key="k" * 32)
    async with running(cfg) as (_, net):
        await net.bot("a").post("a1", "Primera", name="Ana Real", who="ana")
        await net.bot("a").post("a1", "Segunda", name="Ana Real", who="ana")
        await eventually(lambda: len(net.seen_in("b1")) == 2 and len(net.seen_in("c1")) == 2)
        north = {m.text.split(" ")[0] for m in net.seen_in("b1")}
        south = {m.text.split(" ")[0] for m in net.seen_in("c1")}
        assert len(north) == 1  # the same person, the same pseudonym, in one circle
        assert len(south) == 1
        assert north != south  # not linkable across circles
        for m in net.seen_in("b1") + net.seen_in("c1"):
            assert "Ana Real" not in m.text
            assert "memory:ana" not in m.text


async def test_hide_removes_the_copy_here_and_stops_the_thread_reaching_this_room(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        root = await net.bot("a").post("a1", "Hilo molesto", name="Ana")
        await eventually(lambda: len(copies("b1", "Hilo molesto")) == 1)
        await committed(net)
        copy = copies("b1", "Hilo molesto")[0]
        await net.bot("b").command("b1", "hide", reply_to=copy.id, who="mod", admin=True)
        await eventually(lambda: not copies("b1", "Hilo molesto"))
        await net.bot("a").post("a1", "Respuesta al hilo", name="Ana", reply_to=root)
        await eventually(lambda: len(copies("c1", "Respuesta al hilo")) == 1)
        await settled(net, "b1")
        assert not copies("b1", "Respuesta al hilo")
        assert copies("c1", "Hilo molesto")  # NYC keeps its copy


async def test_help_circle_and_the_welcome_notice(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url, relay="moderated")) as (_, net):
        await net.bot("a").joined("a1")
        await net.bot("a").joined("a1")  # added again: no second notice
        await net.bot("a").command("a1", "circle")
        await eventually(lambda: sum("En los últimos 7 días" in a for a in answers("a1")) == 1)
        welcome = [a for a in answers("a1") if a.startswith("Translocal conecta")]
        assert len(welcome) == 1
        assert "Berlin (alemán, Memory)" in welcome[0]  # in the room's language
        assert "+help" in welcome[0]
        await settled(net)
        help_text = next(a for a in answers("a1") if a.startswith("Comandos de Translocal"))
        for name in ("share", "unshare", "retract", "hide", "pause", "resume", "circle",
                     "optout", "optin", "help"):  # fmt: skip
            assert f"+{name}" in help_text


async def test_another_process_sees_a_moderation_change_within_moments(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    """Each process decides from its own mirror of the moderation state; a change made by one
    reaches the others' mirrors through the version counter."""
    from bridge.infra.connection import make_client
    from bridge.model.envelope import Envelope, MsgRef, Sender
    from bridge.moderation.policy import ModerationPolicy

    cfg = memory_config(tmp_path, redis_url).config
    here, there = make_client(redis_url), make_client(redis_url)
    try:
        one, other = ModerationPolicy(cfg, here), ModerationPolicy(cfg, there)
        cdmx = cfg.room("cdmx")
        message = Envelope(key="k", kind="message", bot="a", chat="a1", message_id="1",
                           sender=Sender(id="memory:ana"), text="hola")  # fmt: skip
        root = MsgRef(room="cdmx", id="1")
        circles = cfg.circles

        async def reach() -> frozenset[str]:
            return (await other.gate(message, cdmx, root, circles, {"berlin", "nyc"})).rooms

        assert await reach() == {"berlin", "nyc"}
        await one.state.pause("berlin", True)
        await eventually_async(lambda: _is(reach(), {"nyc"}), timeout=5, what="the pause")
        await one.state.hide("nyc", root)
        await eventually_async(lambda: _is(reach(), set()), timeout=5, what="the hide")
        await one.state.opt_out("memory:ana", True)
        await eventually_async(
            lambda: _is(other.gate(message, cdmx, root, circles, {"berlin"}), None),
            timeout=5, what="the opt-out",
        )  # fmt: skip
    finally:
        await here.aclose()
        await there.aclose()


async def _is(result: Any, expected: object) -> bool:
    value = await result
    if expected is None:  # a gate that lets nothing cross
        return not value.circles and not value.rooms
    return bool(value == expected)


async def test_a_share_carries_replies_to_replies(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    """The whole thread crosses on a share: a reply to a reply too, as a reply."""
    async with running(memory_config(tmp_path, redis_url, relay="moderated")) as (_, net):
        cdmx = net.bot("a")
        root = await cdmx.post("a1", "Raíz del hilo", name="Ana")
        first = await cdmx.post("a1", "Primera respuesta", who="leo", name="Leo", reply_to=root)
        await cdmx.post("a1", "Respuesta a la respuesta", name="Ana", reply_to=first)
        await settled(net)
        await cdmx.command("a1", "share", reply_to=root, who="mod", admin=True)
        await eventually(lambda: len(copies("b1", "Respuesta a la")) == 1)
        (answer,) = copies("b1", "Respuesta a la")
        assert answer.reply_to == copies("b1", "Primera")[0].id
