"""Faults while members write: processes SIGKILLed at random points, a Telegram that answers
429 and 5xx at random or holds requests and fails them without acting, Redis restarted.

Members of two Telegram groups write steadily; the bridge runs as three processes (the bots
and their deliverers in one, two relay workers), each SIGKILLed at random moments and
started again, while the sandbox Bot API server misbehaves. Every message must reach the
other group, in order; Telegram duplicates may come only from a bots process killed between
a send and its record (at most one per chat per kill), and they are counted.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from bridge.infra.embedded_redis import EmbeddedRedis
from sandbox.telegram import BotApiServer
from tests.harness import eventually, memory_config, running
from tests.helpers import NO_LIMITS, Proc, sandbox_bot, write_config
from tests.reliability.hostile import errors

TOKEN_A = "5000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
TOKEN_B = "5000002:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
CDMX, BERLIN = -1001000000001, -1001000000002
ANA, JONAS = 2001, 2002
MESSAGES = 240  # in all, half from each group
KILLS = {"bots": 3, "relay": 3}
SCALE = 0.005  # Telegram's limit windows, 200 times shorter
TRACEBACK = re.compile(r"Traceback|\bERROR\b")


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with BotApiServer(limits=True, scale=SCALE) as server:
        server.add_bot(TOKEN_A, "cdmx_bridge_bot")
        server.add_bot(TOKEN_B, "berlin_bridge_bot")
        server.add_user(ANA, "Ana")
        server.add_user(JONAS, "Jonas")
        for chat, title, bot, member in (
            (CDMX, "CDMX", 5000001, ANA),
            (BERLIN, "Berlin", 5000002, JONAS),
        ):
            server.create_chat(chat, title)
            server.add_member(chat, bot, admin=True, announce=False)
            server.add_member(chat, member)
        yield server


def bridge_config(tmp_path: Path, redis_url: str, tg: BotApiServer) -> Path:
    cfg: dict[str, object] = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url, "shards": 8},
        "bots": [
            sandbox_bot("a", TOKEN_A, tg.url, limits_scale=SCALE),
            sandbox_bot("b", TOKEN_B, tg.url, limits_scale=SCALE),
        ],
        "rooms": [
            {"id": "cdmx", "bot": "a", "chat": CDMX, "language": "es", "label": "CDMX"},
            {"id": "berlin", "bot": "b", "chat": BERLIN, "language": "es", "label": "Berlin"},
        ],
        "circles": [{"id": "net", "rooms": ["cdmx", "berlin"], "relay": "all"}],
        "limits": NO_LIMITS,
    }
    return write_config(tmp_path / "faults.yaml", cfg)


def spawn(config: Path, role: str) -> Proc:
    return Proc("run", "-c", str(config), "--role", role, "--lease-ms", "1000")


async def started(proc: Proc) -> None:
    await asyncio.to_thread(proc.wait_for, "translocal is running", 60)


def bodies(tg: BotApiServer, chat: int, author: int) -> list[str]:
    """The texts of the copies in ``chat`` (the line after the attribution)."""
    return [m["text"].split("\n")[1] for m in tg.messages(chat) if m["author_id"] != author]


async def test_kills_and_a_misbehaving_telegram_lose_nothing_and_duplicate_only_in_the_window(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    rng = random.Random(20261122)
    tg.faults(p_5xx=0.02, p_429=0.02, p_timeout=0.02, timeout_s=0.5, seed=5,
              methods=["sendMessage"])  # fmt: skip
    config = bridge_config(tmp_path, redis_url, tg)
    procs = {"bots": spawn(config, "bots"), "relay0": spawn(config, "relay")}
    procs["relay1"] = spawn(config, "relay")
    everyone = list(procs.values())
    await asyncio.gather(*(started(p) for p in everyone))
    plan = ["bots"] * KILLS["bots"] + [rng.choice(["relay0", "relay1"]) for _ in range(3)]
    rng.shuffle(plan)
    kill_at = dict(zip(sorted(rng.sample(range(40, MESSAGES - 40), len(plan))), plan, strict=True))
    for i in range(MESSAGES):
        chat, member = (CDMX, ANA) if i % 2 == 0 else (BERLIN, JONAS)
        tg.post(chat, member, f"mensaje {i}")
        await asyncio.sleep(0.01)  # members write steadily
        victim = kill_at.get(i)
        if victim is not None:
            procs[victim].popen.send_signal(signal.SIGKILL)
            await asyncio.to_thread(procs[victim].wait)
            procs[victim] = spawn(config, "bots" if victim == "bots" else "relay")
            everyone.append(procs[victim])  # started while members keep writing

    # copies of CDMX's even messages in Berlin, of Berlin's odd ones in CDMX
    targets = ((BERLIN, JONAS, 0), (CDMX, ANA, 1))

    def arrived() -> bool:
        return all(
            {f"mensaje {i}" for i in range(parity, MESSAGES, 2)} <= set(bodies(tg, chat, member))
            for chat, member, parity in targets
        )

    await eventually(arrived, timeout=150, what="every message in the other group")
    for proc in procs.values():
        assert proc.stop() == 0
    duplicates = 0
    for chat, member, parity in targets:
        copies = bodies(tg, chat, member)
        duplicates += sum(n - 1 for n in Counter(copies).values())
        assert list(dict.fromkeys(copies)) == [f"mensaje {i}" for i in range(parity, MESSAGES, 2)]
    faults = tg.fault_counts
    print(f"\nfaults given: {dict(faults)}; kills: {Counter(plan)}; duplicates: {duplicates}")
    assert {kind for kind, _ in faults} >= {"429", "timeout"}, faults
    assert any(kind in ("500", "502") for kind, _ in faults), faults
    # Telegram has no idempotency key: a bots process killed between a send and its record
    # sends that copy again, at most one per chat per kill. A relay worker killed anywhere,
    # a 429, a 5xx or a request failed without acting makes none.
    assert duplicates <= 2 * KILLS["bots"], duplicates
    crashes = [line for p in everyone for line in p.lines if TRACEBACK.search(line)]
    assert crashes == []


@pytest.mark.parametrize("how", ["shutdown", "sigkill"])
async def test_a_redis_restart_mid_stream_loses_nothing(
    tmp_path: Path, tg: BotApiServer, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    """Redis (this test's own, append-only as translocal runs it) stopped for 2 s, politely
    or killed, and started again while an in-memory room and a Telegram group write to each
    other; the Telegram group keeps writing while Redis is away. Each message arrives once."""
    server = EmbeddedRedis(tmp_path / "own-redis")
    server.start()
    try:
        bots = [{"id": "a", "platform": "memory"},
                sandbox_bot("tg", TOKEN_A, tg.url, limits_scale=SCALE)]  # fmt: skip
        rooms = [
            {"id": "nyc", "bot": "a", "chat": "a1", "language": "es", "label": "NYC"},
            {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX"},
        ]
        circles = [{"id": "net", "rooms": ["nyc", "cdmx"], "relay": "all"}]
        loaded = memory_config(tmp_path, server.url, shards=4, bots=bots, rooms=rooms,
                               circles=circles)  # fmt: skip
        async with running(loaded) as (_, net):
            for i in range(100):
                await net.bot("a").post("a1", f"m{i}")
                tg.post(CDMX, ANA, f"t{i}")
                if i == 50:
                    if how == "sigkill":  # whatever the append-only file holds is what is left
                        assert server.pid is not None
                        os.kill(server.pid, signal.SIGKILL)
                    await asyncio.to_thread(server.stop)  # SHUTDOWN, or leaving a dead one
                    for j in range(100, 120):  # Telegram's members write on meanwhile
                        tg.post(CDMX, ANA, f"t{j}")
                        await asyncio.sleep(0.1)
                    await asyncio.to_thread(server.start)
            await eventually(
                lambda: (
                    {f"m{i}" for i in range(100)} <= set(bodies(tg, CDMX, ANA))
                    and {f"t{i}" for i in range(120)} <= {d.body for d in net.sends_to("a1")}
                ),
                timeout=30,
                what="every message on the other side",
            )
        in_telegram = Counter(bodies(tg, CDMX, ANA))
        in_memory = Counter(d.body for d in net.sends_to("a1"))
        assert max(in_telegram.values()) == 1, in_telegram.most_common(3)
        assert max(in_memory.values()) == 1, in_memory.most_common(3)
        # what a member would notice of the outage: delays, not a stopped bridge
        crashed = [e for e in errors(caplog) if "stopped on an error" in e]
        assert crashed == []
    finally:
        server.stop()
