"""Telegram's limits and faults: queue instead of drop, wait out 429s exactly, never duplicate."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.configload import load_config
from sandbox.telegram import BotApiServer
from tests.harness import eventually, running
from tests.helpers import sandbox_bot, write_config

TOKEN = "5000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
GROUP = -1001000000001
SCALE = 0.01  # a "second" is 10 ms, a "minute" 0.6 s: the same rules, faster


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with BotApiServer(limits=True, scale=SCALE) as server:
        server.add_bot(TOKEN, "cdmx_bridge_bot")
        server.create_chat(GROUP, "Inquilinas CDMX")
        server.add_member(GROUP, 5000001, admin=True, announce=False)
        yield server


def config(tmp_path: Path, redis_url: str, tg: BotApiServer) -> Any:
    cfg = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url, "shards": 4},
        "bots": [
            sandbox_bot("tg", "${TOKEN}", tg.url, limits_scale=SCALE),
            {"id": "mem", "platform": "memory"},
        ],
        "rooms": [
            {"id": "cdmx", "bot": "tg", "chat": GROUP, "language": "es", "label": "CDMX"},
            {"id": "nyc", "bot": "mem", "chat": "nyc", "language": "es", "label": "NYC"},
        ],
        "circles": [{"id": "net", "rooms": ["cdmx", "nyc"], "relay": "all"}],
    }
    return load_config(write_config(tmp_path / "tg.yaml", cfg), env={"TOKEN": TOKEN})


def bodies(tg: BotApiServer) -> list[str]:
    return [m["text"].split("\n", 1)[1] for m in tg.messages(GROUP)]


async def test_a_burst_of_200_arrives_in_order_paced_and_429s_are_waited_out_exactly(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg)) as (app, net):
        for i in range(200):
            await net.bot("mem").post("nyc", f"mensaje {i}")
        for reached in (40, 90, 140):  # three 429s mid-stream: "retry after 1"
            await eventually(lambda n=reached: len(tg.messages(GROUP)) >= n, timeout=30)  # type: ignore[misc]
            tg.inject("sendMessage", status=429, count=1)
        await eventually(lambda: len(tg.messages(GROUP)) == 200, timeout=60)
        retries = app.deliverers["tg"].retries
    assert bodies(tg) == [f"mensaje {i}" for i in range(200)]
    assert tg.refusals == []  # the limits never refused: our pacing provoked no 429
    assert retries == 3
    sends = [c.monotonic for c in tg.calls if c.method == "sendMessage"]
    gaps = [b - a for a, b in itertools.pairwise(sends)]
    waited = [g for g in gaps if g >= 0.9]
    # three 429s with retry_after 1: three gaps of at least that second (never retried
    # early); every other gap is the pacing of the limits (a "minute" here is 0.6 s).
    # How close to exactly 1 s it stays is for bench/telegram_burst.py, not a test.
    assert len(waited) == 3, waited
    assert all(g >= 1.0 for g in waited), waited


async def test_random_429s_and_500s_lose_nothing_and_duplicate_nothing(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    tg.faults(p_5xx=0.1, p_429=0.1, seed=7, methods=["sendMessage"])
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        for i in range(40):
            await net.bot("mem").post("nyc", f"mensaje {i}")
        await eventually(lambda: len(tg.messages(GROUP)) >= 40, timeout=90)
    faults = tg.fault_counts
    assert sum(faults.values()) >= 4, faults  # the faults did happen
    assert bodies(tg) == [f"mensaje {i}" for i in range(40)]  # all, once each, in order
