"""A relay worker: owns inbox shards by lease and turns their entries into outbox deliveries.

- Each worker heartbeats into a sorted set; each takes up to its fair share of the shards
  (ceil(shards / live workers)) and gives back extras, so workers scale out.
- A shard newly taken is drained of its pending entries (a dead owner's) before new ones,
  which keeps the order of each origin room.
- Every entry is committed by one Lua script: check the lease is still ours (fencing), mark
  the envelope seen, write the origin's map record, XADD one delivery per target, XACK and
  XDEL. All of it or none of it. A message's map record is its own seen mark (its field in
  its room's table written HSETNX, bridge.relay.maps: a re-ingested message makes no second
  copy, and keeps no key of its own, issue 23's Redis bytes); other envelopes (edits,
  commands) get ``keys.seen`` (SET NX).
- A batch's commit is one pipeline of EVALSHAs; while it runs in Redis, the worker plans the
  next shard's batch (one commit in flight at most, settled before the next read), so the
  map's packing inside Redis does not slow the relay down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
import traceback
import uuid
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from bridge.infra.bus import Entry, claim_pending, ensure_group, read_new, replicated
from bridge.infra.lease import Leases
from bridge.infra.metrics import PLAN_FAILURES, SHARDS_OWNED
from bridge.infra.retry import step_until_stopped
from bridge.model import keys
from bridge.model.envelope import Delivery, Envelope, MsgRef
from bridge.relay import maplua, maps
from bridge.relay.router import Plan, Router

log = logging.getLogger(__name__)
# pydantic-core's serializer itself: model_dump_json's Python wrapper doubled the cost, per copy
_DELIVERY_JSON = Delivery.__pydantic_serializer__

SEEN_TTL_S = 24 * 3600  # re-ingestion after a crash happens within minutes

# ARGV: owner, entry, group, seen ttl, map ttl, 6 or 0, [bridge.relay.maps.record_args],
# then one delivery per outbox in KEYS[5:]
_COMMIT = (
    """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local nrec = tonumber(ARGV[6])
local fresh = false
if ARGV[4] == '0' then
  fresh = false
elseif nrec > 0 then
  local room, w, f, v = ARGV[7], tonumber(ARGV[8]), ARGV[9], ARGV[10]
  local h, now, ret, nx, added = tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[5]), true, 0
"""
    + maplua.INSERT
    + """
  fresh = added == 1
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
)


def _where(exc: BaseException) -> str:
    """Where an exception was raised, as file:line of the innermost frame of translocal's
    own code: enough to find the defect, with no value of the message in it."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/bridge/" in f.filename or "/translation/" in f.filename]
    last = (ours or frames)[-1] if frames else None
    return f"{os.path.basename(last.filename)}:{last.lineno}" if last else "?"


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
        self._inflight: asyncio.Future[None] | None = None  # a shard's commit, still in Redis
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
        await maps.make_compact(self.redis)
        await self.redis.script_load(_COMMIT)  # batches EVALSHA it without asking first
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
        try:
            for stream, entries in got.items():
                await self._plan_and_commit(stream, entries)
        finally:
            await self._settle()

    async def process(self, stream: str, entries: list[Entry]) -> None:
        """Plan every entry in order, then commit them all in one round trip."""
        try:
            await self._plan_and_commit(stream, entries)
        finally:
            await self._settle()

    async def _settle(self) -> None:
        """Wait for the commit in flight, if any (its error, if it failed, is raised here)."""
        if self._inflight is not None:
            task, self._inflight = self._inflight, None
            await task

    async def _plan_and_commit(self, stream: str, entries: list[Entry]) -> None:
        """Plan a shard's batch while the previous shard's commit is still in Redis, then
        start its own (one in flight at most; the caller settles it before reading again).
        Shards are independent (a room's messages, replies and edits share its shard), and
        Redis runs the commit script on its own core meanwhile: the relay is not slowed by
        the message map's Lua (issue 23's Redis bytes)."""
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
            try:
                plan = await self.router.plan(envelope, batch)
            except (RedisError, OSError):
                raise  # Redis away: the batch is read again once it is back
            except Exception as exc:  # a defect met by one envelope must not stop every room
                PLAN_FAILURES.inc()
                log.error(  # noqa: TRY400 - no traceback: its values may quote the message
                    "inbox entry %s (%s%s from room chat %s) could not be planned: %s at %s; "
                    "dropped", entry_id, envelope.kind, f" {envelope.command}" if envelope.command
                    else "", envelope.chat, type(exc).__name__, _where(exc),
                )  # fmt: skip
                plans.append((entry_id, None))
                continue
            if self._inflight is not None and len(plans) % 16 == 0:
                await asyncio.sleep(0)  # the commit in flight sends and reads its replies
            if plan.reason and log.isEnabledFor(logging.DEBUG):
                log.debug("entry %s: %s", entry_id, plan.reason)
            plans.append((entry_id, plan))
        calls = [self._commit_args(stream, entry_id, planned) for entry_id, planned in plans]
        await self._settle()
        self._inflight = asyncio.ensure_future(self._commit_batch(stream, calls))
        await asyncio.sleep(0)  # let it send the batch now: Redis runs it while we plan on

    async def _commit_batch(self, stream: str, calls: list[tuple[list[str], list[Any]]]) -> None:
        """EVALSHA straight away (no SCRIPT EXISTS round trip first); loaded on a NOSCRIPT (a
        restarted or failed-over Redis), and the batch sent again: none of it ran."""
        for attempt in (1, 2):
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for key_list, args in calls:
                        pipe.evalsha(self._commit.sha, len(key_list), *key_list, *args)
                    results = await pipe.execute()
                break
            except NoScriptError:
                if attempt == 2:
                    raise
                await self.redis.script_load(_COMMIT)
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
        fields: list[Any] = []
        if plan.origin and plan.record and maps.storable(plan.origin.id):  # packed, on its day
            fields = maps.record_args(plan.origin, plan.record, self.map_ttl_s, plan.envelope.ts)
        key_list = [lease_key, stream, keys.seen(plan.envelope.key), lease_key]
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
