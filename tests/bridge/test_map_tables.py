"""The message map's packed tables (issue 23, Redis bytes): records many to a small hash per
(room, day), found newest day first; exact expiry; a forged sender or timestamp cannot bend a
record; a map written by the previous layout is still read and still added to."""

from __future__ import annotations

import json
import time
from pathlib import Path

import redis.asyncio

from bridge.infra.bus import Inbox
from bridge.model import keys
from bridge.model.envelope import Envelope, MsgRef, Sender
from bridge.relay.maps import MapReader, make_compact
from tests.harness import eventually, eventually_async, memory_config, running

WEEK = 7 * 86400


async def _has(maps: MapReader, origin: MsgRef, rooms: set[str]) -> bool:
    return rooms <= set(await maps.record(origin))


async def test_a_sender_id_with_the_records_separators_cannot_plant_a_root_or_a_file(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    """A homeserver that lies about a sender's id: control characters that, unescaped, would
    end the sender's part of the packed record and write a thread root and a file key of the
    sender's choosing (a retract would purge someone else's file; replies would join another
    thread)."""
    forged = "ana\x1fcdmx/1\x1ftl:media:victim"
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        sent = await net.bot("a").post("a1", "Hola", who=forged, name="Ana")
        await eventually(lambda: len(net.seen_in("b1")) == 1)
        maps = MapReader(redis_client)
        origin = MsgRef(room="cdmx", id=sent)
        await eventually_async(lambda: _has(maps, origin, {"berlin"}), what="the copy recorded")
        record = await maps.record(origin)
        assert record.get(".sender") == f"memory:{forged}"
        assert record.get(".root") == str(origin)
        assert ".media" not in record


async def test_a_record_is_read_until_its_retention_ends_and_never_after(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        start = time.time()
        sent = await net.bot("a").post("a1", "Asamblea", name="Ana")
        await eventually(lambda: len(net.seen_in("b1")) == 1)
        copy_b = net.seen_in("b1")[0].id
        origin = MsgRef(room="cdmx", id=sent)
        await eventually_async(lambda: _has(MapReader(redis_client), origin, {"berlin"}))
        ends = await MapReader(redis_client).expires(origin)
        assert ends is not None
        assert start + WEEK - 5 <= ends <= time.time() + WEEK
        before = MapReader(redis_client, clock=lambda: ends - 1)
        after = MapReader(redis_client, clock=lambda: ends)
        assert "berlin" in await before.record(origin)
        assert await before.copy_of("berlin", copy_b) == origin
        assert await after.record(origin) == {}  # its bucket still lives: the record does not
        assert await after.copy_of("berlin", copy_b) is None
        assert (await after.canonical("berlin", copy_b))[0] == MsgRef(room="berlin", id=copy_b)


async def test_a_forged_timestamp_files_the_record_under_today(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    """An event dated far in the future (or years ago) is still found, and still expires a
    retention after it arrived, not after the date it claims."""
    loaded = memory_config(tmp_path, redis_url)
    async with running(loaded) as (_, net):
        inbox = Inbox(redis_client, loaded.config.redis.shards)
        future, old = "9000001", "$" + "f" * 43
        for message_id, ts in ((future, time.time() + 40 * 365 * 86400), (old, 1.0)):
            await inbox.publish(
                Envelope(key=f"mem:a:a1:{message_id}", kind="message", bot="a", chat="a1",
                         message_id=message_id, sender=Sender(id="memory:ana", name="Ana"),
                         text="Asamblea", ts=ts)
            )  # fmt: skip
        await eventually(lambda: len(net.seen_in("b1")) == 2)
        maps = MapReader(redis_client)
        for sent in (future, old):
            origin = MsgRef(room="cdmx", id=sent)
            await eventually_async(lambda origin=origin: _has(maps, origin, {"berlin"}))
            ends = await maps.expires(origin)
            assert ends is not None
            assert abs(ends - (time.time() + WEEK)) < 60


async def test_many_messages_in_one_room_and_day_stay_in_small_compact_buckets(
    redis_client: redis.asyncio.Redis,
) -> None:
    """Thousands of records on one day of one room: the table grows bucket by bucket, every
    bucket keeps Redis's compact encoding, and every record and pointer is found."""
    assert await make_compact(redis_client)  # as the relay and the deliverers do at start
    maps = MapReader(redis_client)
    n = 3000
    async with redis_client.pipeline(transaction=False) as pipe:
        for i in range(n):
            origin = MsgRef(room="big", id=f"callout:{i:06d}:occurrence")  # hashed: 11+ chars
            await maps.add_copies(pipe, origin, "other", [f"$copy{i}"], keep_s=WEEK)
        await pipe.execute()
    names = [str(k) async for k in redis_client.scan_iter(match=f"{keys.MAP_TABLES}big:*:*")]
    assert len(names) > n // 100
    assert {str(await redis_client.object("encoding", name)) for name in names} == {"ziplist"}
    for i in range(0, n, 7):
        origin = MsgRef(room="big", id=f"callout:{i:06d}:occurrence")
        assert await maps.copies(origin, "other") == [f"$copy{i}"]
        assert await maps.copy_of("other", f"$copy{i}") == origin


async def test_a_map_of_the_previous_layout_is_read_and_added_to_until_it_expires(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    """After an upgrade: a message recorded by the previous translocal (one hash a message,
    one string a copy) is still found by a reply to its copy, and its edit reaches the copy."""
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        original = await net.bot("a").post("a1", "Asamblea el viernes", name="Ana")
        await eventually(lambda: len(net.seen_in("b1")) == 1 and len(net.seen_in("c1")) == 1)
        copy_b, copy_c = net.seen_in("b1")[0].id, net.seen_in("c1")[0].id
        origin = MsgRef(room="cdmx", id=original)
        maps = MapReader(redis_client)
        await eventually_async(lambda: _has(maps, origin, {"berlin", "nyc"}))
        # the same map, as the previous layout held it
        for name in [str(k) async for k in redis_client.scan_iter(match=f"{keys.MAP_TABLES}*")]:
            await redis_client.delete(name)
        old = keys.origin("cdmx", original)
        await redis_client.hset(old, mapping={".sender": "memory:ana", ".root": str(origin),
                                              "berlin": json.dumps([copy_b]),
                                              "nyc": json.dumps([copy_c])})  # fmt: skip
        await redis_client.expire(old, WEEK)
        for room, copy in (("berlin", copy_b), ("nyc", copy_c)):
            await redis_client.set(keys.copy(room, copy), str(origin), ex=WEEK)
        assert await maps.copy_of("berlin", copy_b) == origin
        assert await maps.canonical("nyc", copy_c) == (origin, origin)

        await net.bot("b").post("b1", "Wir kommen", name="Jonas", reply_to=copy_b)
        await eventually(lambda: len(net.seen_in("a1")) == 2 and len(net.seen_in("c1")) == 2)
        assert net.seen_in("a1")[1].reply_to == original
        assert net.seen_in("c1")[1].reply_to == copy_c
        await net.bot("a").edit("a1", original, "Asamblea el sábado")
        await eventually(
            lambda: (
                "sábado" in net.chats["b1"][copy_b].text
                and "sábado" in net.chats["c1"][copy_c].text
            )
        )
        # a copy sent now of that message is added to its record where it is
        async with redis_client.pipeline(transaction=True) as pipe:
            await maps.add_copies(pipe, origin, "bcn", ["77"], keep_s=WEEK)
            await pipe.execute()
        assert json.loads(str(await redis_client.hget(old, "bcn"))) == ["77"]
        assert await maps.copies(origin, "bcn") == ["77"]
        assert await maps.copy_of("bcn", "77") == origin
