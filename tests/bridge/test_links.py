"""A city joins from chat, through the whole bridge (relay, deliverers, call-outs, in-memory
bots, the sandbox LibreTranslate) with no restart: a Berlin moderator's ``invite``, a new
chat's ``link`` as the adapter hands it over, and then the linked room takes part in
everything (crossing both ways translated, moderation, call-outs scheduled before it
joined, metrics by room id, every bot and a second process told); ``unlink`` and the
invite codes' ``list`` and ``revoke``."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio

from bridge.app import App
from bridge.callouts.clock import ManualClock
from bridge.config.linked import is_linked
from bridge.config.load import LoadedConfig
from bridge.infra.metrics import REGISTRY
from bridge.model.i18n import render
from bridge.model.links import LinkAnswer, LinkRequest
from bridge.moderation.audit import Audit
from sandbox.libretranslate import LibreTranslateServer
from tests.bridge.test_callouts_schedule import ROOMS
from tests.bridge.test_moderation import answers, copies, settled
from tests.harness import eventually, memory_config, running_app
from tests.memory_bot import NETWORK, MemoryNetwork

CODE = re.compile(r"tl-[0-9A-Z]{4}-[0-9A-Z]{2}")


def config(tmp_path: Path, redis_url: str, libre: LibreTranslateServer) -> LoadedConfig:
    return memory_config(
        tmp_path, redis_url, rooms=ROOMS, organizers=["memory:org"],
        circles=[{"id": "housing", "rooms": ["cdmx", "berlin"], "relay": "all"},
                 {"id": "labour", "rooms": ["berlin", "nyc"], "relay": "all"}],
        translation={"providers": [{"name": "libretranslate", "url": libre.url}]},
    )  # fmt: skip


def app_of(loaded: LoadedConfig, role: str = "all", clock: ManualClock | None = None) -> App:
    app = App(loaded, role=role, lease_ms=1000)
    app.links_every_s = 0.05
    if clock is not None:
        app.callout_clock = clock
    return app


@contextlib.asynccontextmanager
async def bridge(loaded: LoadedConfig, clock: ManualClock | None = None) -> AsyncIterator[App]:
    async with running_app(app_of(loaded, clock=clock)) as app:
        yield app


async def invite(net: MemoryNetwork, args: str = "housing") -> str:
    """A Berlin moderator asks for a code; the code from the answer."""
    before = len(answers("b1"))
    await net.bot("b").command("b1", "invite", args, who="mod", admin=True)
    await eventually(lambda: len(answers("b1")) > before, what="the invite answer")
    found = CODE.search(answers("b1")[-1])
    assert found is not None, answers("b1")[-1]
    return found.group(0)


async def link(net: MemoryNetwork, args: str, chat: str = "a9") -> LinkAnswer:
    """An admin of a new chat of bot ``a`` sends ``link ARGS`` (as the adapter hands it on)."""
    request = LinkRequest(bot="a", chat=chat, sender="memory:rui", name="Rui", admin=True,
                          args=args, hint="pt")  # fmt: skip
    return await net.bot("a").ctx.link(request)


def messages_in(room: str) -> float:
    found = REGISTRY.get_sample_value(
        "translocal_messages_in_total", {"room": room, "platform": "memory"}
    )
    return found or 0.0


async def test_an_invited_room_links_and_takes_part_in_everything_without_a_restart(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    async with bridge(config(tmp_path, redis_url, libre)) as app:
        net = NETWORK
        code = await invite(net)
        told = answers("b1")[-1]
        assert f"Einladungscode für housing: {code}. Er gilt einmal, bis " in told
        assert f"- Memory: +link {code} <language> <label> [timezone]" in told
        before = messages_in("porto")

        answer = await link(net, f"{code} pt Porto Europe/Lisbon")
        assert answer.room is not None
        assert answer.room.id == "porto"
        assert answer.room.timezone == "Europe/Lisbon"
        welcome = render(answer.text, answer.language)
        assert welcome.startswith("Esta sala está agora ligada a housing, com CDMX (espanhol, "
                                  "Memory) e Berlin (alemão, Memory).")  # fmt: skip
        assert "+unlink" in welcome
        assert "+help" in welcome
        # the circle's other rooms are told, each in its language; the other circle is not
        await eventually(lambda: any("Porto (Portugiesisch, Memory) ist housing beigetreten."
                                     in a for a in answers("b1")), what="Berlin told")  # fmt: skip
        await eventually(lambda: any("Porto (portugués, Memory) se unió a housing." in a
                                     for a in answers("a1")), what="CDMX told")  # fmt: skip
        await settled(net)  # NYC's bot has had its turn too
        assert not any("Porto" in a for a in answers("c1"))
        # every bot is told its rooms (bot a now serves Porto's chat too)
        await eventually(lambda: any("porto" in s for s in net.bot("a").served), what="served")
        assert all(net.bot(b).served for b in ("b", "c"))

        # a member's message crosses to Berlin in German, and the answer back in Portuguese
        await net.bot("a").post("a9", "Despejo amanhã às 8h", who="rui", name="Rui")
        await eventually(lambda: bool(copies("b1", "[de] Despejo amanhã")), what="to Berlin")
        assert copies("a1", "[es] Despejo amanhã")
        await net.bot("b").post("b1", "Wir stehen an eurer Seite", who="jonas", name="Jonas")
        await eventually(lambda: bool(copies("a9", "[pt] Wir stehen")), what="back to Porto")
        assert not copies("c1", "Despejo")  # NYC is in the other circle
        assert messages_in("porto") - before >= 1  # counted by the room's id

        # its admins moderate it: pause holds what Porto writes
        await net.bot("a").command("a9", "pause", who="rui", admin=True)
        await eventually(lambda: any("+resume" in a for a in answers("a9")), what="paused")
        await net.bot("a").post("a9", "Isto fica aqui", who="rui", name="Rui")
        await settled(net, "a9")
        await settled(net, "b1")
        assert not copies("b1", "Isto fica aqui")
        assert app.config.room("porto").label == "Porto"

    trail = [(e.who, e.room, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert ("memory:mod", "berlin", "invite", "done") in trail
    assert ("memory:rui", "porto", "link", "done") in trail
    assert ("memory:rui", "porto", "pause", "done") in trail


async def test_only_moderators_of_a_room_in_the_circle_get_a_code_and_list_or_revoke_it(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    async with bridge(config(tmp_path, redis_url, libre)):
        net = NETWORK
        # NYC's moderator is not in housing: refused, though the circle exists
        await net.bot("c").command("c1", "invite", "housing", who="mod", admin=True)
        await eventually(lambda: bool(answers("c1")), what="NYC refused")
        assert answers("c1")[-1] == ("This room is not in a circle called housing: its "
                                     "moderators can invite only into labour. Nothing was "
                                     "changed.")  # fmt: skip
        # a member of Berlin is not a moderator; Berlin's moderator must name one of two
        await net.bot("b").command("b1", "invite", "housing", who="jonas")
        await net.bot("b").command("b1", "invite", who="mod", admin=True)
        await eventually(lambda: len(answers("b1")) == 2, what="two refusals")
        assert answers("b1")[0].startswith("Nur die Moderation dieses Raums")
        assert "+invite <Kreis>, einen von housing und labour" in answers("b1")[1]
        assert not await redis_client.keys("tl:invite:*")

        code = await invite(net)
        await net.bot("b").command("b1", "invite", "list", who="mod", admin=True)
        await eventually(lambda: "Offene Einladungscodes:" in answers("b1")[-1], what="list")
        listed = answers("b1")[-1]
        assert f"{code[:5]}… für housing, erstellt von mod in Berlin, bis " in listed
        assert code not in listed
        assert "memory:mod" not in listed  # another city's moderators see the list: no user id
        # CDMX's moderator (housing) revokes it; the link then fails
        await net.bot("a").command("a1", "invite", f"revoke {code}", who="mod", admin=True)
        await eventually(lambda: any("revocado" in a for a in answers("a1")), what="revoked")
        assert (await link(net, f"{code} pt Porto")).room is None

    entries = await Audit(redis_client, 90).read()
    trail = [(e.who, e.room, e.action, e.outcome) for e in entries]
    assert ("memory:mod", "nyc", "invite", "refused") in trail
    assert ("memory:jonas", "berlin", "invite", "refused") in trail
    assert ("memory:mod", "cdmx", "invite revoke", "done") in trail
    assert all(code not in repr(e) for e in entries)


async def test_unlink_tells_the_circle_once_an_hour_and_a_retract_after_it_reaches_the_copies(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    async with bridge(config(tmp_path, redis_url, libre)) as app:
        net = NETWORK
        # a config-file room is the operator's to remove
        await net.bot("b").command("b1", "unlink", who="mod", admin=True)
        await eventually(lambda: any("Konfigurationsdatei" in a for a in answers("b1")))
        assert (await link(net, f"{await invite(net)} pt Porto")).room is not None
        secret = await net.bot("a").post("a9", "Moro na Rua Sol 5", who="rui", name="Rui")
        await eventually(lambda: bool(copies("b1", "Rua Sol")), what="a copy in Berlin")
        await net.bot("a").command("a9", "unlink", who="rui", admin=True)
        await eventually(lambda: not is_linked(app.config, "porto"), what="unlinked")
        await eventually(lambda: any("Porto (Portugiesisch, Memory) hat housing verlassen."
                                     in a for a in answers("b1")), what="Berlin told")  # fmt: skip
        await eventually(lambda: any("Esta sala saiu de housing" in a for a in answers("a9")))
        await net.bot("a").post("a9", "Depois de sair", who="rui", name="Rui")
        # links again within the hour: welcomed, but the circle gets no second join notice
        assert (await link(net, f"{await invite(net)} pt Porto")).room is not None
        await settled(net, "b1")
        assert len([a for a in answers("b1") if "beigetreten" in a]) == 1
        assert not copies("b1", "Depois de sair")  # nothing crossed while it was out
        # the author retracts the message from before the unlink: the map entries stayed
        await net.bot("a").command("a9", "retract", reply_to=secret, who="rui")
        await eventually(lambda: not copies("b1", "Rua Sol"), what="Berlin's copy retracted")
        await eventually(lambda: not copies("a1", "Rua Sol"), what="CDMX's copy too")
        await net.bot("a").command("a9", "unlink", who="rui", admin=True)
        await eventually(lambda: not is_linked(app.config, "porto"), what="unlinked again")
        await settled(net, "b1")
        assert len([a for a in answers("b1") if "verlassen" in a]) == 1


async def test_a_call_out_scheduled_before_the_link_reaches_the_linked_room(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    clock = ManualClock(datetime(2030, 5, 1, 10, tzinfo=UTC))
    async with bridge(config(tmp_path, redis_url, libre), clock):
        net = NETWORK
        args = "add 2030-05-01 18:00 local housing | Asamblea general"
        await net.bot("a").command("a1", "callout", args, who="org")
        await eventually(lambda: any("programada" in a for a in answers("a1")), what="planned")
        assert (await link(net, f"{await invite(net)} pt Porto Europe/Lisbon")).room is not None
        clock.set(datetime(2030, 5, 1, 17, tzinfo=UTC))  # 18:00 in Lisbon
        await eventually(lambda: bool(copies("a9", "[pt] Asamblea general")), what="Porto's")


async def test_a_second_process_sees_the_linked_room_without_a_restart(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    (tmp_path / "bots").mkdir()
    (tmp_path / "relay").mkdir()
    bots_cfg = config(tmp_path / "bots", redis_url, libre)
    relay_cfg = config(tmp_path / "relay", redis_url, libre)
    relay = app_of(relay_cfg, role="relay")
    async with running_app(app_of(bots_cfg, role="bots")), running_app(relay):
        net = NETWORK
        assert (await link(net, f"{await invite(net)} pt Porto")).room is not None
        await eventually(lambda: is_linked(relay.config, "porto"), what="the relay follows")
        await net.bot("a").post("a9", "Olá de Porto", who="rui", name="Rui")
        await eventually(lambda: bool(copies("b1", "[de] Olá de Porto")), what="crossed")


async def test_a_retract_after_the_unlink_still_deletes_the_copy_in_the_room_that_left(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    async with bridge(config(tmp_path, redis_url, libre)) as app:
        net = NETWORK
        assert (await link(net, f"{await invite(net)} pt Porto")).room is not None
        said = await net.bot("b").post("b1", "Wir treffen uns bei Marta", who="ute", name="Ute")
        await eventually(lambda: bool(copies("a9", "Marta")), what="a copy in Porto")
        await net.bot("a").command("a9", "unlink", who="rui", admin=True)
        await eventually(lambda: not is_linked(app.config, "porto"), what="unlinked")
        await net.bot("b").command("b1", "retract", reply_to=said, who="ute")
        await eventually(lambda: not copies("a9", "Marta"), what="Porto's copy deleted")
