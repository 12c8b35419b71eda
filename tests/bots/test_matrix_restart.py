"""A translocal process with a Matrix bot, stopped and started (once politely, once killed)
while members keep writing: every message is relayed once, in order, after the restarts."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import redis.asyncio

from sandbox.synapse import SynapseServer
from tests.bots.test_matrix import bot_user, from_bot, matrix_bot
from tests.helpers import NO_LIMITS, Proc, write_config
from tests.synapse_fixture import create_room, joined, member

WHILE_DOWN = 120  # more than one sync's timeline holds (100): the gap is paged through


async def test_a_restarted_bot_relays_everything_written_meanwhile_exactly_once(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    async with member(synapse, "ana", display="Ana") as ana, \
               member(synapse, "ben", display="Ben") as ben:  # fmt: skip
        berlin = await create_room(ana, invite=(bot,))
        wien = await create_room(ben, invite=(bot,))
        cfg: dict[str, object] = {
            "data_dir": str(tmp_path / "data"),
            "redis": {"url": redis_url, "shards": 4},
            "bots": [matrix_bot(synapse, bot)],
            "rooms": [
                {"id": "berlin", "bot": "mx", "chat": berlin, "language": "es", "label": "B"},
                {"id": "wien", "bot": "mx", "chat": wien, "language": "es", "label": "W"},
            ],
            "circles": [{"id": "net", "rooms": ["berlin", "wien"], "relay": "all"}],
            "limits": NO_LIMITS,
        }
        path = write_config(tmp_path / "c.yaml", cfg)

        def spawn() -> Proc:
            return Proc("run", "-c", str(path), "--lease-ms", "1000")

        async def write(first: int, last: int, pause: float = 0.0) -> None:
            for i in range(first, last):
                await ana.say(berlin, f"mensaje {i}")
                await asyncio.sleep(pause)

        bridge = spawn()
        await asyncio.to_thread(bridge.wait_for, "translocal is running", 60)
        await joined(ana, berlin, bot)
        await joined(ben, wien, bot)
        await write(0, 20, 0.02)
        bridge.popen.send_signal(signal.SIGTERM)  # stopped politely
        assert await asyncio.to_thread(bridge.wait) == 0
        await write(20, 40)
        bridge = spawn()
        await write(40, 60, 0.05)  # while it starts
        await asyncio.to_thread(bridge.wait_for, "translocal is running", 60)
        await write(60, 80, 0.02)
        bridge.popen.send_signal(signal.SIGKILL)  # killed, in the middle of whatever it did
        await asyncio.to_thread(bridge.wait)
        await write(80, 80 + WHILE_DOWN)
        bridge = spawn()
        total = 100 + WHILE_DOWN
        await write(80 + WHILE_DOWN, total, 0.02)

        def all_there(events: list[dict[str, object]]) -> bool:
            return len(from_bot(events, bot)) >= total

        await ben.wait_for(wien, all_there, seconds=90)
        await asyncio.sleep(1)  # a duplicate would come right after
        await ben.sync(0)
        assert bridge.stop() == 0
        assert any(f"events the last sync missed in {berlin}" in line for line in bridge.lines)

    bodies = [str(c["body"]).split("\n", 1)[1] for c in from_bot(ben.events[wien], bot)]
    counted = Counter(bodies)
    assert [b for b, n in counted.items() if n > 1] == []  # none twice
    assert bodies == [f"mensaje {i}" for i in range(total)]  # none lost, in order
