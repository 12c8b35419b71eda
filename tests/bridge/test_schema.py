"""Redis layout versions: ordered upgrade steps, run once, and newer data refused."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio

from bridge.infra.schema import LATEST, Step, current_version, upgrade
from bridge.model import keys
from bridge.model.errors import SchemaError


async def test_a_fresh_redis_is_brought_to_the_latest_version(
    redis_client: redis.asyncio.Redis,
) -> None:
    assert await current_version(redis_client) == 0
    assert await upgrade(redis_client) == LATEST
    assert await current_version(redis_client) == LATEST
    assert await redis_client.hget(keys.META, "created_at")
    assert all(k.startswith(keys.PREFIX) for k in await redis_client.keys("*"))


async def test_steps_run_in_order_and_once_even_with_concurrent_starts(
    redis_client: redis.asyncio.Redis,
) -> None:
    ran: list[int] = []

    def step(n: int) -> Step:
        async def run(r: redis.asyncio.Redis) -> None:
            ran.append(n)
            await asyncio.sleep(0.01)
            await r.rpush("tl:test:steps", n)

        return run

    steps = [(1, "one", step(1)), (2, "two", step(2)), (3, "three", step(3))]
    await redis_client.set(keys.SCHEMA, 1)  # as if version 1 were already there
    results = await asyncio.gather(*(upgrade(redis_client, steps) for _ in range(4)))
    assert results == [3, 3, 3, 3]
    assert ran == [2, 3]
    assert await redis_client.lrange("tl:test:steps", 0, -1) == ["2", "3"]
    assert await redis_client.get(keys.SCHEMA_LOCK) is None


async def test_data_from_a_newer_translocal_is_refused(redis_client: redis.asyncio.Redis) -> None:
    await redis_client.set(keys.SCHEMA, LATEST + 1)
    with pytest.raises(SchemaError, match="newer than this translocal knows"):
        await upgrade(redis_client)
    assert await current_version(redis_client) == LATEST + 1  # untouched
