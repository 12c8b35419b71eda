"""forgetme through the real relay and Redis, with in-memory bots: every message of the member
still in the message map is retracted network-wide, their traces in Redis are gone (keys
scanned), they are opted out and told how much was removed; a second forgetme does no work
twice, and nobody else's messages are touched."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio

from bridge.commands.forget import lock_key
from bridge.model import keys
from bridge.model.envelope import MsgRef
from bridge.moderation.audit import Audit
from bridge.relay.maps import MapReader
from tests.harness import eventually, eventually_async, memory_config, running
from tests.memory_bot import NETWORK, ChatMessage


def copies(chat: str, needle: str) -> list[ChatMessage]:
    return [m for m in NETWORK.seen_in(chat) if needle in m.text and not m.notice]


def answers(chat: str) -> list[str]:
    return [m.text for m in NETWORK.seen_in(chat) if m.notice]


async def said(chat: str, start: str) -> str:
    await eventually(lambda: any(a.startswith(start) for a in answers(chat)), what=start)
    return next(a for a in answers(chat) if a.startswith(start))


async def traces(
    redis_client: redis.asyncio.Redis, sender: str, room: str, ids: list[str]
) -> list[str]:
    """Every key that still names the sender or one of their messages: their origin records
    and recent-buffer entries by name, any record whose sender they are, any copy record or
    set member that points at one of their messages. (A reply's record names its thread root
    by id, and so does a circle's log of the week's shares: an id whose own record is gone,
    which tells nothing of anyone.)"""
    refs = {f"{room}/{i}" for i in ids}
    named = {keys.origin(room, i) for i in ids} | {keys.recent(room, i) for i in ids}
    found = []
    async for ref, entry in MapReader(redis_client).entries():  # the map's packed tables
        if isinstance(entry, MsgRef):  # a copy's pointer
            if str(entry) in refs:
                found.append(f"map: a copy {ref} of {entry}")
        elif str(ref) in refs or any(
            v == sender or v in refs for k, v in entry.items() if k != ".root"
        ):
            found.append(f"map: the record of {ref}")
    async for key in redis_client.scan_iter("tl:*"):
        name = str(key)
        if name.startswith(keys.MAP_TABLES):
            continue  # read above, through the map
        if name in named:
            found.append(name)
            continue
        kind = await redis_client.type(key)
        if kind == "hash":
            record = {str(k): str(v) for k, v in (await redis_client.hgetall(key)).items()}
            values = [v for k, v in record.items() if k != ".root"]
        elif kind == "string":
            values = [str(await redis_client.get(key))]
        elif kind == "zset":
            values = [str(m) for m in await redis_client.zrange(key, 0, -1)]
        elif kind == "set":
            values = [str(m) for m in await redis_client.smembers(key)]
        else:
            continue
        if name == keys.OPTED_OUT or name.startswith(keys.shared_log("")):
            continue  # the opt-out itself, asked for; the week's shared thread roots (ids)
        if any(v == sender or v in refs for v in values):
            found.append(name)
    return found


async def _recorded(redis_client: redis.asyncio.Redis, ids: list[str]) -> None:
    """Wait until each copy the test saw is in the map: a deliverer records a copy just after
    the bot has it, and forgetme deletes the copies it finds there (bridge.commands.forget)."""
    maps = MapReader(redis_client)

    async def mapped() -> bool:
        records = [await maps.record(MsgRef(room="cdmx", id=i)) for i in ids]
        return all({"berlin", "nyc"} <= set(record) for record in records)

    await eventually_async(mapped, what="every copy in the map")


async def _forgotten(redis_client: redis.asyncio.Redis, ids: list[str]) -> None:
    """Wait until Ana's messages have left the map. A deliverer forgets a copy in the
    transaction after its delete, which the bot records first (what the test sees); a copy
    recorded after forgetme began is deleted and forgotten after its own entry is gone from
    the outbox. So: every outbox empty (no copy is recorded any more), then no trace left."""

    async def delivered() -> bool:
        return not sum([await redis_client.xlen(keys.outbox(b)) for b in ("a", "b", "c")])

    async def gone() -> bool:
        return not await traces(redis_client, "memory:ana", "cdmx", ids)

    await eventually_async(delivered, what="every delivery made")
    await eventually_async(gone, what="Ana's messages forgotten by the deliverers")


async def test_forgetme_retracts_everything_of_yours_and_nothing_else(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    cfg = memory_config(tmp_path, redis_url, relay="moderated")
    async with running(cfg) as (_, net):
        cdmx = net.bot("a")
        mine = [await cdmx.post("a1", "Mensaje 1 de Ana", name="Ana")]
        mine.append(await cdmx.post("a1", "Mensaje 2 de Ana", name="Ana", reply_to=mine[0]))
        other = await cdmx.post("a1", "Mensaje de Leo", who="leo", name="Leo", reply_to=mine[0])
        mine.append(await cdmx.post("a1", "Mensaje 3 de Ana", name="Ana", reply_to=mine[0]))
        await cdmx.command("a1", "share", reply_to=mine[0], who="mod", admin=True)
        await said("a1", "Compartido")
        for chat in ("b1", "c1"):
            await eventually(lambda chat=chat: len(copies(chat, "Mensaje")) == 4)
        await _recorded(redis_client, [*mine, other])

        await cdmx.command("a1", "forgetme", who="ana")
        answer = await said("a1", "Eliminados")
        assert "3" in answer
        for chat in ("b1", "c1"):
            await eventually(lambda chat=chat: not copies(chat, "de Ana"))
            assert len(copies(chat, "Mensaje de Leo")) == 1
        assert await redis_client.sismember(keys.OPTED_OUT, "memory:ana")
        await _forgotten(redis_client, mine)
        left = await traces(redis_client, "memory:ana", "cdmx", mine)
        assert left == []
        leos = await MapReader(redis_client).record(MsgRef(room="cdmx", id=other))
        assert leos[".sender"] == "memory:leo"  # Leo's stays
        # opted out: her next message stays home
        await cdmx.post("a1", "Mensaje 4 de Ana", name="Ana", reply_to=mine[0])
        await cdmx.post("a1", "Marca de Leo", who="leo", name="Leo", reply_to=other)
        await eventually(lambda: len(copies("b1", "Marca de Leo")) == 1)
        assert not copies("b1", "Mensaje 4")
        # once an hour: a second forgetme is refused, without work
        before = len([d for d in NETWORK.log if d.action == "delete"])
        await cdmx.command("a1", "forgetme", who="ana")
        await said("a1", "Ya pediste")
        assert len([d for d in NETWORK.log if d.action == "delete"]) == before

    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert ("memory:ana", "forgetme", "done") in trail
    assert ("memory:ana", "forgetme", "refused") in trail


async def test_two_forgetme_at_once_do_the_work_once(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        sent = [await net.bot("a").post("a1", f"Nachricht {n}", name="Ana") for n in range(3)]
        await eventually(lambda: len(copies("b1", "Nachricht")) == 3)
        await eventually(lambda: len(copies("c1", "Nachricht")) == 3)
        await _recorded(redis_client, sent)
        # the same member (one id) in two rooms asks at once: two relay shards, one run
        await asyncio.gather(
            net.bot("a").command("a1", "forgetme", who="ana"),
            net.bot("b").command("b1", "forgetme", who="ana"),
        )
        await eventually(lambda: not copies("b1", "Nachricht") and not copies("c1", "Nachricht"))
        await eventually(lambda: len(answers("a1")) + len(answers("b1")) == 2)
        deletes = [d for d in NETWORK.log if d.action == "delete"]
        assert len(deletes) == 6  # three messages, two copies each: once
        await _forgotten(redis_client, sent)
        assert len(await traces(redis_client, "memory:ana", "cdmx", sent)) == 0


async def test_a_forgetme_already_running_elsewhere_is_not_repeated(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (app, net):
        await net.bot("a").post("a1", "Nachricht", name="Ana")
        await eventually(lambda: len(copies("b1", "Nachricht")) == 1)
        # another process's run holds the lock (as while it scans): this one does nothing
        await redis_client.set(lock_key(app.loaded.config, "memory:ana"), "elsewhere", ex=60)
        await net.bot("a").command("a1", "forgetme", who="ana")
        await said("a1", "Ya se están eliminando")
        assert copies("b1", "Nachricht")


async def test_a_copy_still_on_its_way_during_forgetme_leaves_no_record_behind(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    """NYC's bot is slow: its copy is sent after forgetme ran, and Berlin's was already
    deleted and forgotten. The late copy is deleted at once, and must not write Ana's
    message back into the map (a record named by her message's id, until retention)."""
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        held = net.bot("c").held = asyncio.Event()  # NYC's sends wait
        mine = await net.bot("a").post("a1", "Nachricht von Ana", name="Ana")
        await eventually(lambda: bool(copies("b1", "Nachricht")), what="Berlin's copy")
        await _recorded_in(redis_client, mine, "berlin")
        await net.bot("a").command("a1", "forgetme", who="ana")
        await said("a1", "Eliminad")
        await eventually(lambda: not copies("b1", "Nachricht"), what="Berlin's copy deleted")
        held.set()
        await eventually(lambda: any(d.chat == "c1" and d.action == "delete" for d in
                                     NETWORK.log), what="NYC's late copy deleted")  # fmt: skip
        assert not copies("c1", "Nachricht")
        await _forgotten(redis_client, [mine])
        assert await traces(redis_client, "memory:ana", "cdmx", [mine]) == []


async def _recorded_in(redis_client: redis.asyncio.Redis, origin: str, room: str) -> None:
    async def mapped() -> bool:
        return room in await MapReader(redis_client).record(MsgRef(room="cdmx", id=origin))

    await eventually_async(mapped, what=f"{room}'s copy in the map")
