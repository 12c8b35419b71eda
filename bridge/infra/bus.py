"""The bus on Redis Streams: the sharded inbox, the outboxes, and reading them safely.

Entries hold one field, ``d``, with the JSON of an envelope or a delivery. Once processed,
an entry is acknowledged and deleted in the same step, so bodies do not stay at rest.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bridge.model import keys
from bridge.model.envelope import Envelope

Entry = tuple[str, str | None]  # (entry id, JSON or None when deleted while pending)

log = logging.getLogger(__name__)


@dataclass
class _Acks:
    replicas: int
    timeout_ms: int
    short: bool = False  # the last WAIT fell short: wait briefly until replicas are back


_ACKS: WeakKeyDictionary[Redis, _Acks] = WeakKeyDictionary()
_SHORT_WAIT_MS = 10  # while replicas are missing, each commit waits this long at most
# WAIT covers the writes made on its own connection; a PUBLISH (sent to replicas, to no
# subscriber, not to the append-only file) on the same connection as the WAIT puts the
# replication point after every commit already answered, whichever connection made it
_MARK = "translocal:replicated"


def require_replicas(redis: Redis, replicas: int, timeout_ms: int) -> None:
    """Make ``replicated(redis)`` wait for ``replicas`` replicas (none: it returns at once)."""
    if replicas > 0:
        _ACKS[redis] = _Acks(replicas, timeout_ms)


async def replicated(redis: Redis) -> None:
    """Return once the configured number of replicas hold every write answered so far.

    Called after each commit that the bridge relies on (an inbox entry, a relay batch, a
    delivery record), so that what was acknowledged survives a Sentinel failover. A WAIT
    that times out with fewer replicas is logged once at WARNING and the bridge goes on:
    availability over durability, while the replicas are away; until a WAIT succeeds again,
    each commit waits at most a few milliseconds."""
    acks = _ACKS.get(redis)
    if acks is None:
        return
    async with redis.pipeline(transaction=False) as pipe:
        pipe.publish(_MARK, "")
        wait_ms = _SHORT_WAIT_MS if acks.short else acks.timeout_ms
        pipe.execute_command("WAIT", acks.replicas, wait_ms)
        got = int((await pipe.execute())[1])
    if got < acks.replicas and not acks.short:
        acks.short = True
        log.warning(
            "redis: %d of %d replicas acknowledged a commit within %d ms; going on without "
            "(a failover now could lose the latest writes)",
            got,
            acks.replicas,
            acks.timeout_ms,
        )
    elif got >= acks.replicas and acks.short:
        acks.short = False
        log.info("redis: %d replicas acknowledge commits again", got)


def shard_of(bot: str, chat: str, shards: int) -> int:
    """The inbox shard of a chat: stable across processes and restarts."""
    return zlib.crc32(f"{bot}\0{chat}".encode()) % shards


class Inbox:
    def __init__(self, redis: Redis, shards: int) -> None:
        self.redis = redis
        self.shards = shards

    async def publish(self, envelope: Envelope) -> str:
        """Store one envelope; returns once Redis has it."""
        stream = keys.inbox(shard_of(envelope.bot, envelope.chat, self.shards))
        entry_id = await self.redis.xadd(stream, {"d": envelope.model_dump_json()})
        await replicated(self.redis)
        return str(entry_id)


async def ensure_group(redis: Redis, stream: str, group: str) -> None:
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _entries(raw: Any) -> list[Entry]:
    out: list[Entry] = []
    for entry_id, fields in raw or []:
        data = fields.get("d") if fields else None
        out.append((str(entry_id), data))
    return out


async def claim_pending(
    redis: Redis, stream: str, group: str, consumer: str, count: int = 500
) -> list[Entry]:
    """Take over every entry still pending in ``stream`` (its owner died), in id order.

    XPENDING lists them and XCLAIM (JUSTID) moves them to ``consumer``; reading the
    consumer's own pending list (XREADGROUP from id 0) then returns them with their ids. An
    entry deleted while pending comes back from that read as (id, {}): its data is None here,
    and the caller simply acknowledges it. (XAUTOCLAIM is avoided: on Redis 6.2 it returns
    such an entry as a bare nil, without its id, and its cursor can stall.)
    """
    start = "-"
    while True:
        pending = await redis.xpending_range(stream, group, min=start, max="+", count=count)
        if not pending:
            break
        ids: list[str | bytes | int | memoryview] = [str(p["message_id"]) for p in pending]
        await redis.xclaim(stream, group, consumer, 0, list(ids), justid=True)
        if len(ids) < count:
            break
        start = f"({ids[-1]!s}"
    out: list[Entry] = []
    after = "0"
    while True:
        batch: Any = await redis.xreadgroup(group, consumer, {stream: after}, count=count)
        entries = _entries(batch[0][1]) if batch else []
        if not entries:
            return out
        out.extend(entries)
        after = entries[-1][0]


async def read_new(
    redis: Redis, streams: list[str], group: str, consumer: str, count: int, block_ms: int
) -> dict[str, list[Entry]]:
    if not streams:
        return {}
    reply: Any = await redis.xreadgroup(
        group, consumer, dict.fromkeys(streams, ">"), count=count, block=block_ms
    )
    return {str(stream): _entries(entries) for stream, entries in reply or []}


async def ack_delete(redis: Redis, stream: str, group: str, entry_id: str) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xack(stream, group, entry_id)
        pipe.xdel(stream, entry_id)
        await pipe.execute()


# A stream keeps a deleted entry's bytes inside its listpack node until the whole node is
# freed, in memory and in an RDB snapshot or the RDB preamble of a rewritten append-only
# file. Rebuilding the stream from its live entries (same ids, same fields) drops them.
# Only for streams without consumer groups (the dead letters).
_COMPACT = """
local entries = redis.call('XRANGE', KEYS[1], '-', '+')
local info = redis.pcall('XINFO', 'STREAM', KEYS[1])
if type(info) == 'table' and info.err then return 0 end
local last = '0-0'
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
end
redis.call('DEL', KEYS[1])
for _, entry in ipairs(entries) do
  redis.call('XADD', KEYS[1], entry[1], unpack(entry[2]))
end
if #entries == 0 then
  redis.call('XADD', KEYS[1], last, 'compacted', '1')
  redis.call('XDEL', KEYS[1], last)
end
return #entries
"""


async def compact(redis: Redis, stream: str) -> None:
    """Rebuild ``stream`` from its live entries, so that deleted ones leave no bytes behind."""
    await redis.eval(_COMPACT, 1, stream)
