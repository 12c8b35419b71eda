"""Quarantine through the real relay and Redis, with in-memory bots: two other rooms' moderators
hold a room whose admins were taken over; one inside and one outside moderator release it."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio

from bridge.model import keys
from bridge.moderation.audit import Audit
from tests.bridge.test_moderation import answers, copies, settled
from tests.harness import eventually, eventually_async, memory_config, running


async def test_two_other_rooms_quarantine_a_third_and_inside_plus_outside_release_it(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        cdmx, berlin, nyc = net.bot("a"), net.bot("b"), net.bot("c")
        # the room cannot do it to itself, a member cannot, an unknown label changes nothing
        await cdmx.command("a1", "quarantine", "CDMX", who="mod", admin=True)
        await berlin.command("b1", "quarantine", "CDMX", who="jonas")
        await nyc.command("c1", "quarantine", "Atlantis", who="mod", admin=True)
        await eventually(lambda: any("Atlantis" in a for a in answers("c1")), what="unknown")
        # one room asks: not yet
        await berlin.command("b1", "quarantine", "cdmx", who="mod", admin=True)
        await settled(net, "b1")
        await cdmx.post("a1", "Primer mensaje", name="Ana")
        await eventually(lambda: len(copies("c1", "Primer mensaje")) == 1, what="one vote only")
        # the same room again adds nothing
        await berlin.command("b1", "quarantine", "CDMX", who="mod2", admin=True)
        await settled(net, "b1")
        assert not await redis_client.sismember(keys.QUARANTINED, "cdmx")
        # a second room: quarantined, and CDMX is told
        await nyc.command("c1", "quarantine", "CDMX", who="mod", admin=True)
        await eventually(lambda: any("+release CDMX" in a for a in answers("a1")), what="told")
        await cdmx.post("a1", "Mensaje del secuestrador", name="Ana")
        await settled(net, "a1")
        await settled(net, "c1")
        assert not copies("b1", "secuestrador")
        assert not copies("c1", "secuestrador")
        # into CDMX still goes (the quarantine holds what comes out of it)
        await nyc.post("c1", "Still with you", name="Sam")
        await eventually(lambda: len(copies("a1", "Still with you")) == 1)

        # two outside moderators cannot release it; the inside one alone cannot either
        await berlin.command("b1", "release", "CDMX", who="mod", admin=True)
        await nyc.command("c1", "release", "CDMX", who="mod", admin=True)
        await settled(net, "c1")
        assert await redis_client.sismember(keys.QUARANTINED, "cdmx")
        await cdmx.command("a1", "release", "CDMX", who="mod", admin=True)

        async def released() -> bool:
            return not await redis_client.sismember(keys.QUARANTINED, "cdmx")

        await eventually_async(released, what="out of quarantine")
        await cdmx.post("a1", "Recuperamos el grupo", name="Ana")
        await eventually(lambda: len(copies("b1", "Recuperamos")) == 1, what="crosses again")
        assert not copies("b1", "secuestrador")  # what was held stays held

    trail = [(e.who, e.room, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert ("memory:mod", "cdmx", "quarantine", "refused") in trail  # itself
    assert ("memory:jonas", "berlin", "quarantine", "refused") in trail  # not a moderator
    assert ("memory:mod", "nyc", "quarantine", "done") in trail
    assert ("memory:mod", "cdmx", "release", "done") in trail
