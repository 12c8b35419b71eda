"""Attacks on moderation from another room, written as the attacker would try them, through
the real relay and Redis with in-memory bots (a security review reproduced each on main)."""

from __future__ import annotations

import time
from pathlib import Path

import redis.asyncio

from bridge.model import keys
from bridge.model.envelope import Envelope, Quoted, Sender
from bridge.moderation.audit import Audit
from tests.bridge.test_moderation import answers, copies, settled
from tests.harness import eventually, memory_config, running
from tests.memory_bot import NETWORK


def two_circles(tmp_path: Path, redis_url: str) -> object:
    """CDMX and Berlin share everything (``all``); Berlin and NYC only what is shared."""
    return memory_config(
        tmp_path, redis_url,
        circles=[
            {"id": "net", "rooms": ["cdmx", "berlin"], "relay": "all"},
            {"id": "north", "rooms": ["berlin", "nyc"], "relay": "moderated"},
        ],
    )  # fmt: skip


async def test_another_rooms_moderator_cannot_share_or_release_a_held_thread(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(two_circles(tmp_path, redis_url)) as (_, net):  # type: ignore[arg-type]
        cdmx, berlin = net.bot("a"), net.bot("b")
        root = await cdmx.post("a1", "Desalojo mañana en Calle Luna", name="Ana")
        await eventually(lambda: len(copies("b1", "Calle Luna")) == 1)
        # CDMX's moderator holds the thread back; a reply naming a safe house stays home
        await cdmx.command("a1", "unshare", reply_to=root, who="mod", admin=True)
        await eventually(
            lambda: any(a.startswith("Las siguientes respuestas") for a in answers("a1"))
        )
        await cdmx.post("a1", "La casa segura es Calle Sol 5", reply_to=root, who="leo")
        await settled(net)
        assert copies("b1", "Calle Sol") == []

        # Berlin's moderator replies /share to Berlin's copy of CDMX's thread
        copy = copies("b1", "Calle Luna")[0].id
        await berlin.command("b1", "share", reply_to=copy, who="kai", admin=True)
        await eventually(lambda: any("CDMX" in a for a in answers("b1")), what="the refusal")
        # and reacts with the share reaction, then tries to unshare it for CDMX
        await berlin.react("b1", copy, "🕊", who="kai", admin=True)
        await berlin.command("b1", "unshare", reply_to=copy, who="kai", admin=True)
        await cdmx.post("a1", "Y llevamos agua", reply_to=root, who="leo")
        await settled(net)
        await settled(net, "b1")

        assert copies("b1", "Calle Sol") == []  # the held reply never left CDMX
        assert copies("c1", "Calle Sol") == []
        assert copies("c1", "Calle Luna") == []  # nor did the thread reach Berlin's circles
        assert copies("b1", "agua") == []  # still held: Berlin could not release it
        refusals = [a for a in answers("b1") if "CDMX" in a and "Es wurde nichts geändert" in a]
        assert len(refusals) == 3  # share, the reaction and unshare, each refused in Berlin

    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert trail.count(("memory:kai", "share", "refused")) == 2  # the command and the reaction
    assert ("memory:kai", "unshare", "refused") in trail
    assert ("memory:kai", "share", "done") not in trail


async def test_a_second_retract_after_a_reshare_deletes_the_new_copies(
    tmp_path: Path, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url, relay="moderated")) as (_, net):
        cdmx = net.bot("a")
        secret = await cdmx.post("a1", "Nos vemos en Calle Sol 5", name="Ana")
        await cdmx.command("a1", "share", reply_to=secret, who="mod", admin=True)
        await cdmx.command("a1", "share", "confirm", who="mod", admin=True)  # an address
        await eventually(lambda: len(copies("b1", "Calle Sol")) == 1)
        await eventually(lambda: len(copies("c1", "Calle Sol")) == 1, what="NYC's copy")
        await cdmx.command("a1", "retract", reply_to=secret, who="ana")
        await eventually(lambda: copies("b1", "Calle Sol") == [])
        await eventually(lambda: copies("c1", "Calle Sol") == [], what="NYC's copy deleted")
        await settled(net)  # each delete recorded: the copies are gone from the map too

        # shared again later, from the message as the platform quotes it with the command
        message_id = str(time.monotonic_ns())
        await cdmx.ctx.emit(
            Envelope(
                key=f"reshare:{message_id}", kind="command", bot="a", chat="a1",
                message_id=message_id, sender=Sender(id="memory:mod", name="mod"),
                command="share", reply_to=secret, admin=True,
                quoted=Quoted(message_id=secret, sender=Sender(id="memory:ana", name="Ana"),
                              text="Nos vemos en Calle Sol 5"),
            )
        )  # fmt: skip
        await cdmx.command("a1", "share", "confirm", who="mod", admin=True)  # an address
        await eventually(lambda: len(copies("b1", "Calle Sol")) == 1, what="the re-shared copy")
        await eventually(lambda: len(copies("c1", "Calle Sol")) == 1, what="NYC's new copy")

        await cdmx.command("a1", "retract", reply_to=secret, who="ana")
        await eventually(lambda: sum(a.startswith("Retirado") for a in answers("a1")) == 2)
        await eventually(lambda: copies("b1", "Calle Sol") == [], what="the second retract")
        # NYC's bot deletes its copy on its own, maybe after Berlin's
        await eventually(lambda: copies("c1", "Calle Sol") == [], what="NYC's, retracted again")
    assert NETWORK.bots  # the network ran


async def test_an_opted_out_member_or_a_paused_room_leaves_nothing_in_the_buffer(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url, relay="moderated")) as (_, net):
        cdmx = net.bot("a")
        await cdmx.command("a1", "optout", who="leo")
        await eventually(lambda: any("optin" in a for a in answers("a1")))
        private = await cdmx.post("a1", "Vivo en Calle Sol 5", who="leo", name="Leo")
        await cdmx.command("a1", "pause", who="mod", admin=True)
        await eventually(lambda: any(a.startswith("En pausa") for a in answers("a1")))
        paused = await cdmx.post("a1", "Mi teléfono es 555", who="ana", name="Ana")
        await cdmx.command("a1", "resume", who="mod", admin=True)
        await eventually(lambda: any(a.startswith("Reanudado") for a in answers("a1")))
        kept = await cdmx.post("a1", "Asamblea el jueves", who="ana", name="Ana")
        await settled(net)
        assert await redis_client.exists(keys.recent("cdmx", kept))
        assert not await redis_client.exists(keys.recent("cdmx", private))
        assert not await redis_client.exists(keys.recent("cdmx", paused))
        # and a moderator's share afterwards carries neither
        await cdmx.command("a1", "share", reply_to=private, who="mod", admin=True)
        await cdmx.command("a1", "share", reply_to=paused, who="mod", admin=True)
        await settled(net)
        assert copies("b1", "Calle Sol") == []
        assert copies("b1", "555") == []
