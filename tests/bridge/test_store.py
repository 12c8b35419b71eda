"""The Redis client translocal uses everywhere."""

from __future__ import annotations

import asyncio

from bridge.infra.connection import MAX_CONNECTIONS, make_client


async def test_more_commands_at_once_than_connections_wait_instead_of_failing(
    redis_url: str,
) -> None:
    client = make_client(redis_url)
    try:
        many = MAX_CONNECTIONS + 200  # a deliverer with that many chats in flight
        results = await asyncio.gather(
            *(client.blpop([f"tl:test:nothing:{i}"], timeout=0.2) for i in range(many))
        )
        assert results == [None] * many
        await client.set("tl:test:after", "still fine")
        assert await client.get("tl:test:after") == "still fine"
        await client.delete("tl:test:after")
    finally:
        await client.aclose()
