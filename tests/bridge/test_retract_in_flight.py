"""A retract reaches every copy, including copies still on their way when it runs.

A copy that a bot is sending while the author retracts (the platform has it, the bridge has
not recorded it yet), and a copy still waiting in a room's queue behind another send, must not
stay in that room: the first is deleted as soon as its send is recorded, the second is never
sent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio

from tests.bridge.test_moderation import answers, copies
from tests.harness import eventually, memory_config, running


async def test_a_retract_deletes_a_copy_being_sent_and_one_still_queued(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        cdmx, nyc = net.bot("a"), net.bot("c")
        nyc.held = asyncio.Event()  # NYC's bot is slow: its sends wait
        first = await cdmx.post("a1", "Asamblea el jueves", name="Ana")
        second = await cdmx.post("a1", "La llave está con Marta, calle Sol 5", name="Ana")
        await eventually(lambda: len(copies("b1", "Marta")) == 1)  # Berlin has both
        assert not copies("c1", "Asamblea")  # NYC: the first is being sent, the second waits

        await cdmx.command("a1", "retract", reply_to=first, who="ana")
        await cdmx.command("a1", "retract", reply_to=second, who="ana")
        await eventually(lambda: sum(a.startswith("Retirado") for a in answers("a1")) == 2)
        await eventually(lambda: not copies("b1", "Asamblea") and not copies("b1", "Marta"))

        nyc.held.set()  # the sends go through now
        await eventually(lambda: not copies("c1", "Asamblea"), what="the in-flight copy deleted")
        after = await cdmx.post("a1", "Gracias a todas", name="Ana")  # a marker behind them
        await eventually(lambda: len(copies("c1", "Gracias")) == 1)
        assert not copies("c1", "Marta"), "the queued copy of a retracted message was sent"
        assert after
