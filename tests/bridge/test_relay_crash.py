"""SIGKILL relay worker processes at random points while 5,000 messages flow."""

from __future__ import annotations

import asyncio
import random
import signal
from collections import Counter
from pathlib import Path

import redis.asyncio

from tests.harness import eventually, memory_config, running
from tests.helpers import Proc

MESSAGES = 5000
KILLS = 4


def relay_process(config: Path, name: str) -> Proc:
    proc = Proc(
        "run",
        "-c",
        str(config),
        "--role",
        "relay",
        "--lease-ms",
        "1000",
        module="tests.relay_proc",
    )
    proc.name = name  # type: ignore[attr-defined]
    return proc


async def started(proc: Proc) -> None:
    await asyncio.to_thread(proc.wait_for, "translocal is running", 60)


async def test_killed_relay_workers_lose_nothing_and_duplicate_nothing(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    rng = random.Random(20261122)
    loaded = memory_config(tmp_path, redis_url, shards=8)
    async with running(loaded, role="bots", lease_ms=1000) as (_, net):
        workers = [relay_process(loaded.path, "w0"), relay_process(loaded.path, "w1")]
        everyone = list(workers)
        await asyncio.gather(*(started(w) for w in workers))
        kill_at = sorted(rng.sample(range(500, MESSAGES - 500), KILLS))
        kills = 0
        for i in range(MESSAGES):
            bot, chat = ("a", "a1") if i % 2 == 0 else ("b", "b1")
            await net.bot(bot).post(chat, f"{chat}-{i}")
            if i % 25 == 0:
                await asyncio.sleep(0.005)  # a steady stream, not one burst
            if kills < KILLS and i == kill_at[kills]:
                victim = kills % 2
                workers[victim].popen.send_signal(signal.SIGKILL)
                workers[victim].wait()
                kills += 1
                workers[victim] = relay_process(loaded.path, f"w{victim}")
                everyone.append(workers[victim])
        assert kills == KILLS
        await eventually(lambda: len(net.sends_to("c1")) >= MESSAGES, timeout=120)
        await eventually(
            lambda: (
                len(net.sends_to("a1")) >= MESSAGES // 2
                and len(net.sends_to("b1")) >= MESSAGES // 2
            ),
            timeout=60,
        )
        for w in workers:
            assert w.stop() == 0
        logs = "\n".join(line for w in everyone for line in w.lines)
        # every kill left shards that other workers had to take over (8 at the start)
        assert logs.count("took shard") >= 8 + KILLS

    sent = Counter((d.chat, d.body) for d in net.log if d.action == "send")
    duplicates = {k: n for k, n in sent.items() if n > 1}
    assert duplicates == {}, f"{len(duplicates)} copies delivered twice"
    for i in range(MESSAGES):
        origin = "a1" if i % 2 == 0 else "b1"
        other = "b1" if origin == "a1" else "a1"
        for target in ("c1", other):
            assert sent[(target, f"{origin}-{i}")] == 1, f"{origin}-{i} lost in {target}"
    # order per origin room survived the takeovers
    in_nyc = [d.body for d in net.sends_to("c1")]
    assert [t for t in in_nyc if t.startswith("a1-")] == [f"a1-{i}" for i in range(0, MESSAGES, 2)]
    assert [t for t in in_nyc if t.startswith("b1-")] == [f"b1-{i}" for i in range(1, MESSAGES, 2)]
