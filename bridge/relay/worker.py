"""A relay worker: owns inbox shards by lease and turns their entries into outbox deliveries.

- Each worker heartbeats into a sorted set; each takes up to its fair share of the shards
  (ceil(shards / live workers)) and gives back extras, so workers scale out.
- A shard newly taken is drained of its pending entries (a dead owner's) before new ones,
  which keeps the order of each origin room.
- Every entry is committed by one Lua script: check the lease is still ours (fencing), mark
  the envelope seen, write the origin's map record, XADD one delivery per target, XACK and
  XDEL. All of it or none of it. A message's map record is its own seen mark (its first
  field written HSETNX: a re-ingested message makes no second copy, and keeps no key of its
  own, issue 23's Redis bytes); other envelopes (edits, commands) get ``keys.seen`` (SET NX).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
import uuid
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.infra.bus import Entry, claim_pending, ensure_group, read_new, replicated
from bridge.infra.lease import Leases
from bridge.infra.metrics import SHARDS_OWNED
from bridge.infra.retry import step_until_stopped
from bridge.model import keys
from bridge.model.envelope import Delivery, Envelope, MsgRef
from bridge.relay.router import Plan, Router

log = logging.getLogger(__name__)
# pydantic-core's serializer itself: model_dump_json's Python wrapper doubled the cost, per copy
_DELIVERY_JSON = Delivery.__pydantic_serializer__

SEEN_TTL_S = 24 * 3600  # re-ingestion after a crash happens within minutes

_COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local nrec = tonumber(ARGV[6])
local fresh = false
if ARGV[4] == '0' then
  fresh = false
elseif nrec > 0 then
  fresh = redis.call('HSETNX', KEYS[4], ARGV[7], ARGV[8]) == 1
  if fresh then
    if nrec > 2 then redis.call('HSET', KEYS[4], unpack(ARGV, 9, 6 + nrec)) end
    redis.call('EXPIRE', KEYS[4], ARGV[5])
  end
else
  fresh = redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[4])
end
if fresh then
  for i = 5, #KEYS do
    redis.call('XADD', KEYS[i], '*', 'd', ARGV[2 + nrec + i])
  end
end
redis.call('XACK', KEYS[2], ARGV[3], ARGV[2])
redis.call('XDEL', KEYS[2], ARGV[2])
return 1
"""


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class RelayWorker:
    def __init__(
        self,
        redis: Redis,
        router: Router,
        *,
        shards: int,
        map_ttl_s: int,
        lease_ms: int = 10_000,
        batch: int = 200,
        name: str | None = None,
    ) -> None:
        self.redis = redis
        self.router = router
        self.shards = shards
        self.map_ttl_s = map_ttl_s
        self.lease_ms = lease_ms
        self.batch = batch
        self.name = name or worker_id()
        self.leases = Leases(redis, self.name, lease_ms)
        self._commit = redis.register_script(_COMMIT)
        self.owned: dict[int, bool] = {}  # shard -> still has a dead owner's entries to claim
        self._release: set[int] = set()
        self.processed = 0

    # ---- ownership -------------------------------------------------------------------

    async def _keep(self, stop: asyncio.Event) -> None:
        """Renew leases, heartbeat, and take or give back shards, every third of a lease.

        It ends through ``stop``, never by cancellation: a cancelled Redis command can come
        back as a connection error, which the retry below would swallow.
        """
        while not stop.is_set():
            try:
                await self._rebalance()
            except Exception:
                log.exception("relay worker %s: lease upkeep failed; retrying", self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.lease_ms / 3000)

    async def _rebalance(self) -> None:
        now_ms = int(time.time() * 1000)
        await self.redis.zadd(keys.RELAY_WORKERS, {self.name: now_ms})
        await self.redis.zremrangebyscore(keys.RELAY_WORKERS, 0, now_ms - 3 * self.lease_ms)
        live = max(1, int(await self.redis.zcard(keys.RELAY_WORKERS)))
        fair = math.ceil(self.shards / live)
        for shard in list(self.owned):
            if not await self.leases.renew(keys.lease(f"inbox:{shard}")):
                log.warning("relay worker %s lost shard %d", self.name, shard)
                self.owned.pop(shard, None)
                SHARDS_OWNED.set(len(self.owned))
        surplus = len(self.owned) - len(self._release) - fair
        for shard in sorted(self.owned, reverse=True)[: max(0, surplus)]:
            self._release.add(shard)  # the processing loop lets go between batches
        if len(self.owned) >= fair:
            return
        offset = hash(self.name) % self.shards  # spread first picks between workers
        for i in range(self.shards):
            shard = (offset + i) % self.shards
            if shard in self.owned:
                continue
            if await self.leases.acquire(keys.lease(f"inbox:{shard}")):
                log.info("relay worker %s took shard %d", self.name, shard)
                self.owned[shard] = True
                SHARDS_OWNED.set(len(self.owned))
                if len(self.owned) >= fair:
                    break

    async def _let_go(self) -> None:
        for shard in list(self._release):
            self.owned.pop(shard, None)
            SHARDS_OWNED.set(len(self.owned))
            await self.leases.release(keys.lease(f"inbox:{shard}"))
            log.info("relay worker %s gave back shard %d", self.name, shard)
        self._release.clear()

    # ---- processing ------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        for shard in range(self.shards):
            await ensure_group(self.redis, keys.inbox(shard), keys.RELAY_GROUP)
        keeper = asyncio.create_task(self._keep(stop), name=f"relay-keeper-{self.name}")
        try:
            await step_until_stopped(
                lambda: self._step(stop), stop, f"relay worker {self.name}", self._reread
            )
        finally:
            stop.set()
            await keeper
            with contextlib.suppress(RedisError, OSError):
                for shard in list(self.owned):
                    await self.leases.release(keys.lease(f"inbox:{shard}"))
                await self.redis.zrem(keys.RELAY_WORKERS, self.name)
            self.owned.clear()

    def _reread(self) -> None:
        """Whatever was read and not committed is in our pending list: read it again first,
        so that the order of every room holds."""
        for shard in self.owned:
            self.owned[shard] = True

    async def _step(self, stop: asyncio.Event) -> None:
        await self._let_go()
        for shard in [s for s, claim in self.owned.items() if claim]:
            stream = keys.inbox(shard)
            entries = await claim_pending(
                self.redis, stream, keys.RELAY_GROUP, self.name, self.batch
            )
            if entries:
                log.info("shard %d: finishing %d pending entries", shard, len(entries))
            await self.process(stream, entries)
            if shard in self.owned:
                self.owned[shard] = False
        streams = [keys.inbox(s) for s, claim in self.owned.items() if not claim]
        if not streams:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.05)
            return
        got = await read_new(self.redis, streams, keys.RELAY_GROUP, self.name, self.batch, 50)
        for stream, entries in got.items():
            await self.process(stream, entries)

    async def process(self, stream: str, entries: list[Entry]) -> None:
        """Plan every entry in order, then commit them all in one round trip."""
        if not entries:
            return
        batch: dict[MsgRef, MsgRef] = {}  # roots of this batch's messages, not yet committed
        plans: list[tuple[str, Plan | None]] = []
        for entry_id, data in entries:
            if data is None:  # deleted while pending: acknowledge it
                plans.append((entry_id, None))
                continue
            try:
                envelope = Envelope.model_validate_json(data)
            except ValidationError as exc:
                # no traceback: a validation error quotes its input, and that is a body
                log.error(  # noqa: TRY400
                    "inbox entry %s is not an envelope (%d errors); dropped",
                    entry_id,
                    exc.error_count(),
                )
                plans.append((entry_id, None))
                continue
            plan = await self.router.plan(envelope, batch)
            if plan.reason and log.isEnabledFor(logging.DEBUG):
                log.debug("entry %s: %s", entry_id, plan.reason)
            plans.append((entry_id, plan))
        calls = [self._commit_args(stream, entry_id, planned) for entry_id, planned in plans]
        async with self.redis.pipeline(transaction=False) as pipe:
            for key_list, args in calls:
                await self._commit(keys=key_list, args=args, client=pipe)
            results = await pipe.execute()
        await replicated(self.redis)  # a replica holds the batch before it counts as relayed
        if not all(results):
            shard = int(stream.rsplit(":", 1)[1])
            log.warning("relay worker %s: shard %d was taken over; leaving it", self.name, shard)
            self.owned.pop(shard, None)
        self.processed += sum(1 for r in results if r)

    def _commit_args(
        self, stream: str, entry_id: str, plan: Plan | None
    ) -> tuple[list[str], list[Any]]:
        shard = stream.rsplit(":", 1)[1]
        lease_key = keys.lease(f"inbox:{shard}")
        if plan is None or plan.envelope is None:
            return [lease_key, stream, lease_key, lease_key], [
                self.name,
                entry_id,
                keys.RELAY_GROUP,
                "0",
                "0",
                "0",
            ]
        record_key = keys.origin(plan.origin.room, plan.origin.id) if plan.origin else lease_key
        fields = [x for pair in plan.record.items() for x in pair] if plan.origin else []
        key_list = [lease_key, stream, keys.seen(plan.envelope.key), record_key]
        key_list += [keys.outbox(d.bot) for d in plan.deliveries]
        args: list[Any] = [
            self.name,
            entry_id,
            keys.RELAY_GROUP,
            SEEN_TTL_S,
            self.map_ttl_s,
            len(fields),
            *fields,
            *(_DELIVERY_JSON.to_json(d, exclude_defaults=True) for d in plan.deliveries),
        ]
        return key_list, args
