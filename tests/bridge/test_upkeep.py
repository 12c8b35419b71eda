"""Hourly upkeep on the real Redis: dead letters (whole deliveries, bodies included) expire
on time whether or not another one arrives, and the append-only file is rewritten so that
their text is gone from the disk too."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import redis.asyncio

from bridge.infra import upkeep
from bridge.model import keys
from tests.harness import eventually_async

DAY_S = 86400


async def _aof_bytes(client: redis.asyncio.Redis) -> bytes:
    folder = (await client.config_get("dir"))["dir"]
    name = (await client.config_get("appendfilename"))["appendfilename"]
    return (Path(folder) / name).read_bytes()


async def test_dead_letters_expire_on_time_and_leave_the_disk(
    redis_client: redis.asyncio.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    await redis_client.delete(keys.DEAD_LETTERS)
    old = int((time.time() - 8 * DAY_S) * 1000)
    await redis_client.xadd(keys.DEAD_LETTERS, {"d": "Calle Sol 5, the old body"}, id=f"{old}-0")
    await redis_client.xadd(keys.DEAD_LETTERS, {"d": "a body from today"})
    assert b"Calle Sol 5" in await _aof_bytes(redis_client)

    monkeypatch.setattr(upkeep, "UPKEEP_S", 0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(upkeep.hourly(redis_client, 7 * DAY_S, stop))
    try:

        async def gone() -> bool:
            info = await redis_client.info("persistence")
            return (
                await redis_client.xlen(keys.DEAD_LETTERS) == 1
                and not info["aof_rewrite_in_progress"]
                and b"Calle Sol 5" not in await _aof_bytes(redis_client)
            )

        await eventually_async(
            gone, timeout=10, what="the old dead letter gone from Redis and disk"
        )
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    (kept,) = await redis_client.xrange(keys.DEAD_LETTERS)
    assert kept[1] == {"d": "a body from today"}
