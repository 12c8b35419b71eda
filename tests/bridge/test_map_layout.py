"""The message map's Redis layout (issue 23, Redis bytes): a relayed message leaves its
record and one pointer per copy, and no idempotency key of its own; the record itself is
the mark that makes a re-ingested message or a re-read delivery no second copy."""

from __future__ import annotations

import json
import time
from pathlib import Path

import redis.asyncio

from bridge.infra.bus import Inbox
from bridge.model import keys
from bridge.model.envelope import Delivery, Envelope, MsgRef, Sender
from bridge.relay.maps import MapReader
from tests.harness import eventually, eventually_async, memory_config, running


async def _names(redis_client: redis.asyncio.Redis, pattern: str) -> set[str]:
    return {str(k) async for k in redis_client.scan_iter(match=pattern, count=1000)}


async def test_a_crossed_message_leaves_its_record_and_copy_pointers_and_no_idempotency_key(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        sent = await net.bot("a").post("a1", "Asamblea el viernes", name="Ana")
        await eventually(lambda: len(net.seen_in("b1")) == 1 and len(net.seen_in("c1")) == 1)
        origin = MsgRef(room="cdmx", id=sent)
        maps = MapReader(redis_client)
        await eventually_async(
            lambda: _has(maps, origin, {"berlin", "nyc"}), what="both copies recorded"
        )
        assert await _names(redis_client, f"{keys.seen('')}mem:a:a1:{sent}*") == set()
        assert await _names(redis_client, f"{keys.sent('')}mem:a:a1:{sent}>*") == set()
        copy_b = net.seen_in("b1")[0].id
        assert await maps.copy_of("berlin", copy_b) == origin  # replies still find it
        ends = await maps.expires(origin)
        assert ends is not None
        assert 0 < ends - time.time() <= 7 * 86400  # the record expires with the retention


async def _has(maps: MapReader, origin: MsgRef, rooms: set[str]) -> bool:
    return rooms <= set(await maps.record(origin))


async def test_a_message_ingested_twice_and_a_delivery_read_twice_make_one_copy_each(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    """A platform that hands the same update again (an offset not saved before a crash) and
    an outbox entry queued again after its send was recorded: no second copy anywhere."""
    loaded = memory_config(tmp_path, redis_url)
    async with running(loaded) as (_, net):
        sent = await net.bot("a").post("a1", "Bloqueo mañana", name="Ana")
        await eventually(lambda: len(net.seen_in("b1")) == 1 and len(net.seen_in("c1")) == 1)
        maps = MapReader(redis_client)
        origin = MsgRef(room="cdmx", id=sent)
        await eventually_async(lambda: _has(maps, origin, {"berlin", "nyc"}))
        again = Envelope(key=f"mem:a:a1:{sent}", kind="message", bot="a", chat="a1",
                         message_id=sent, sender=Sender(id="memory:ana", name="Ana"),
                         text="Bloqueo mañana")  # fmt: skip
        await Inbox(redis_client, loaded.config.redis.shards).publish(again)
        berlin = loaded.config.rooms[1]
        copy = Delivery.to(berlin, key=f"mem:a:a1:{sent}>berlin", action="send", origin=origin,
                           language="de", text="Ana (CDMX): Bloqueo mañana")  # fmt: skip
        await redis_client.xadd(keys.outbox("b"), {"d": copy.model_dump_json()})
        # a later message from the same room crosses after both: they were handled by then
        await net.bot("a").post("a1", "Siguiente", name="Ana")
        await eventually(lambda: len(net.seen_in("b1")) == 2 and len(net.seen_in("c1")) == 2)
        await eventually_async(lambda: _outbox_empty(redis_client, "b"))
        assert net.seen_in("b1")[0].text.startswith("Ana (CDMX): Bloqueo")
        assert len([m for m in net.seen_in("b1") if "Bloqueo" in m.text]) == 1
        assert len([m for m in net.seen_in("c1") if "Bloqueo" in m.text]) == 1
        assert json.loads((await maps.record(origin))["berlin"]) == [net.seen_in("b1")[0].id]


async def _outbox_empty(redis_client: redis.asyncio.Redis, bot: str) -> bool:
    return int(await redis_client.xlen(keys.outbox(bot))) == 0
