"""The bus on the real Redis 6.2 binary: takeover of pending entries, deleted ones included."""

from __future__ import annotations

import redis.asyncio

from bridge.infra.bus import claim_pending, ensure_group, read_new
from bridge.model import keys


async def test_a_takeover_gets_pending_entries_in_order_and_deleted_ones_empty(
    redis_client: redis.asyncio.Redis,
) -> None:
    stream = keys.inbox(0)
    await ensure_group(redis_client, stream, keys.RELAY_GROUP)
    ids = [await redis_client.xadd(stream, {"d": f"entry-{i}"}) for i in range(1200)]
    # a worker reads them all and dies before acknowledging any
    got = await read_new(redis_client, [stream], keys.RELAY_GROUP, "dead", 2000, 10)
    assert len(got[stream]) == 1200
    await redis_client.xdel(stream, ids[5])  # deleted while pending

    taken = await claim_pending(redis_client, stream, keys.RELAY_GROUP, "heir", count=500)
    assert [entry_id for entry_id, _ in taken] == ids  # all of them, in order
    assert taken[5] == (ids[5], None)  # comes back empty: only to be acknowledged
    assert taken[6] == (ids[6], "entry-6")
    pending = await redis_client.xpending(stream, keys.RELAY_GROUP)
    assert pending["consumers"] == [{"name": "heir", "pending": 1200}]


async def test_the_relay_acknowledges_an_entry_deleted_while_pending(
    redis_client: redis.asyncio.Redis,
) -> None:
    from bridge.relay.worker import RelayWorker

    stream = keys.inbox(0)
    await ensure_group(redis_client, stream, keys.RELAY_GROUP)
    entry = await redis_client.xadd(stream, {"d": "{}"})
    await read_new(redis_client, [stream], keys.RELAY_GROUP, "dead", 10, 10)
    await redis_client.xdel(stream, entry)
    worker = RelayWorker(redis_client, router=None, shards=1, map_ttl_s=60, name="heir")  # type: ignore[arg-type]
    await redis_client.set(keys.lease("inbox:0"), "heir")
    await worker.process(
        stream, await claim_pending(redis_client, stream, keys.RELAY_GROUP, "heir")
    )
    assert (await redis_client.xpending(stream, keys.RELAY_GROUP))["pending"] == 0
