"""The deliverer of one bot: reads its outbox, sends through the adapter, records the copy.

- One deliverer per bot across all processes (a lease); others stand by.
- Inside, one queue per chat: a chat that must wait (rate limit, 429) holds up only itself;
  in it, deletes and edits go ahead of new sends (``bridge.relay.chat_queue``).
- Before sending, message ids are resolved in the target chat (the copy to reply to, the
  copies to edit or delete), so a reply that follows its parent in the same chat always finds
  the parent's copy.
- After sending, one transaction records the copy in the message map, marks the delivery
  sent, and acknowledges and deletes the entry. A delivery already marked sent is skipped,
  so a re-read entry makes no second copy; only a crash between the platform's answer and
  that transaction can (Matrix absorbs even that by transaction id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.infra.bus import (
    Entry,
    ack_delete,
    claim_pending,
    ensure_group,
    read_new,
    replicated,
)
from bridge.infra.lease import Leases
from bridge.infra.metrics import DEAD_LETTERS, MESSAGES_OUT, RELAY_LAG, RETRIES
from bridge.infra.retry import step_until_stopped
from bridge.model import keys
from bridge.model.envelope import Delivery, MsgRef
from bridge.model.ports import Bot, Job, PermanentFailure, RetryLater
from bridge.relay import maps, reactions
from bridge.relay.chat_queue import ChatQueue
from bridge.relay.worker import worker_id

T = TypeVar("T")

log = logging.getLogger(__name__)

MAX_WAIT_S = 300.0  # the longest a retry_after is honoured in one go
MAX_BACKOFF_S = 60.0  # the longest wait after network failures in a row
MAX_UNEXPECTED = 5  # attempts after errors the adapter did not classify, then dead-letter
DEADLINE_S = 120.0  # one platform call, at most

OnDeadLetter = Callable[[Delivery, str], Awaitable[None]]

UNENCRYPTED = (
    "it comes from an end-to-end-encrypted room, and the room it was for is no longer known "
    "to be encrypted (the circle does not set allow_unencrypted: true)"
)


def retry_wait(exc: RetryLater, in_a_row: int) -> float:
    """How long to wait before the next attempt: a platform's own wait exactly (capped);
    after network failures, doubling from ``exc.after`` with each one in a row (capped)."""
    if not exc.backoff:
        return min(max(exc.after, 0.0), MAX_WAIT_S)
    return min(max(exc.after, 0.0) * 2 ** max(in_a_row - 1, 0), MAX_BACKOFF_S)


class Deliverer:
    def __init__(
        self,
        redis: Redis,
        bot: Bot,
        *,
        map_ttl_s: int,
        on_dead_letter: OnDeadLetter | None = None,
        lease_ms: int = 10_000,
        max_in_flight: int = 1000,
        name: str | None = None,
        platform: str = "",
        keep_for: Callable[[Delivery], int] | None = None,
        left: Callable[[Delivery], Awaitable[bool]] | None = None,
    ) -> None:
        self.redis = redis
        self.left = left  # a copy for a room that has left the network (bridge.infra.links)
        self.keep_for = keep_for  # copies kept for their reaction counts (bridge.relay.reactions)
        self.bot = bot
        self.platform = platform  # for metrics labels
        self.stream = keys.outbox(bot.id)
        self.map_ttl_s = map_ttl_s
        self.maps = maps.MapReader(redis)
        self.on_dead_letter = on_dead_letter
        self.name = name or worker_id()
        self.leases = Leases(redis, self.name, lease_ms)
        self.lease_key = keys.lease(f"outbox:{bot.id}")
        self.lease_ms = lease_ms
        self._slots = asyncio.Semaphore(max_in_flight)
        self._queues: dict[str, ChatQueue] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._owner = False
        self._keeper: asyncio.Task[None] | None = None  # renews the lease while we own it
        self.delivered = 0
        self.retries = 0
        self.dead_letters = 0

    async def run(self, stop: asyncio.Event) -> None:
        await maps.make_compact(self.redis)
        try:
            await step_until_stopped(lambda: self._step(stop), stop, f"bot {self.bot.id}")
        finally:
            await self._drain(10.0)
            stop.set()
            if self._keeper is not None:
                await self._keeper
            if self._owner:
                with contextlib.suppress(RedisError, OSError):
                    await self.leases.release(self.lease_key)
                self._owner = False

    async def _step(self, stop: asyncio.Event) -> None:
        """Take the outbox if nobody has it (finishing a dead owner's pending entries), then
        dispatch what is new."""
        if not self._owner:
            await ensure_group(self.redis, self.stream, keys.DELIVER_GROUP)
            if not await self.leases.acquire(self.lease_key):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.lease_ms / 3000)
                return
            self._owner = True
            if self._keeper is None or self._keeper.done():
                self._keeper = asyncio.create_task(
                    self._keep(stop), name=f"deliver-keep-{self.bot.id}"
                )
            pending = await claim_pending(self.redis, self.stream, keys.DELIVER_GROUP, self.name)
            if pending:
                log.info("bot %s: finishing %d pending deliveries", self.bot.id, len(pending))
            await self._dispatch(pending)
        got = await read_new(self.redis, [self.stream], keys.DELIVER_GROUP, self.name, 100, 50)
        await self._dispatch(got.get(self.stream, []))

    async def _keep(self, stop: asyncio.Event) -> None:
        """Renew the lease until ``stop`` (never cancelled: see RelayWorker._keep)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.lease_ms / 3000)
            if stop.is_set():
                return
            try:
                if not await self.leases.renew(self.lease_key):
                    log.warning("bot %s: another process took over its deliveries", self.bot.id)
                    self._owner = False
                    return
            except Exception:
                log.exception("bot %s: lease renewal failed; retrying", self.bot.id)

    def _parse(self, entry_id: str, data: str | None) -> Delivery | None:
        """The entry's delivery, or None for one deleted while pending or not a delivery."""
        if data is None:
            return None
        try:
            return Delivery.model_validate_json(data)
        except ValidationError as exc:
            log.error(  # noqa: TRY400 - a validation error quotes its input: a body
                "bot %s: outbox entry %s is not a delivery (%d errors); dropped",
                self.bot.id,
                entry_id,
                exc.error_count(),
            )
            return None

    async def _dispatch(self, entries: list[Entry]) -> None:
        for entry_id, data in entries:
            await self._slots.acquire()
            delivery = self._parse(entry_id, data)
            chat = delivery.chat if delivery is not None else "?"
            queue = self._queues.get(chat)
            if queue is None:
                queue = self._queues[chat] = ChatQueue()
                self._workers[chat] = asyncio.create_task(
                    self._chat_worker(queue), name=f"deliver-{self.bot.id}-{chat}"
                )
            queue.put_nowait((entry_id, delivery))

    async def _drain(self, grace_s: float) -> None:
        """Let queued deliveries finish (up to ``grace_s``), then stop the chat workers."""
        queues = list(self._queues.values())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(q.join() for q in queues)), grace_s)
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._queues.clear()
        self._workers.clear()

    async def _chat_worker(self, queue: ChatQueue) -> None:
        while True:
            entry_id, delivery = await queue.get()
            try:
                await self._handle(entry_id, delivery)
            except asyncio.CancelledError:
                raise
            except Exception:
                # left pending: the next owner of this outbox retries it
                log.exception("bot %s: delivery %s failed to record", self.bot.id, entry_id)
            finally:
                queue.task_done()
                self._slots.release()

    async def _handle(self, entry_id: str, delivery: Delivery | None) -> None:
        def done() -> Awaitable[object]:
            return ack_delete(self.redis, self.stream, keys.DELIVER_GROUP, entry_id)

        if delivery is None:  # deleted while pending, or not a delivery: acknowledge it
            await self._through(done)
            return
        if await self._through(lambda: self._sent(delivery)):
            await self._through(done)
            return
        job = await self._through(lambda: self._resolve(delivery))
        if job is None or await self._through(lambda: self._retracted(delivery)):
            await self._through(done)  # a copy never made here; or of a retracted message
            return
        ids = await self._attempt(job)
        if ids is None:
            await self._through(done)
            return
        # sent: record it whatever it takes, or the next owner would send it again
        if await self._through(lambda: self._record(entry_id, delivery, ids, job)):
            await self._withdraw(delivery, ids)  # retracted while it was on its way
        self.delivered += 1
        if not delivery.notice:
            MESSAGES_OUT.labels(delivery.room, self.platform, delivery.action).inc()
            if delivery.action == "send" and delivery.received:
                RELAY_LAG.labels(self.platform).observe(max(0.0, time.time() - delivery.received))

    async def _through(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``, again and again while Redis is away (a restart, a failover): the chat
        waits, in order, instead of dropping or repeating what it was doing."""
        failures = 0
        while True:
            try:
                return await call()
            except (RedisError, OSError) as exc:
                failures += 1
                wait = min(0.1 * 2**failures, 5.0)
                if failures == 1:
                    log.warning("bot %s: redis failed (%s); the chat waits for it",
                                self.bot.id, exc)  # fmt: skip
                await asyncio.sleep(wait)

    async def _resolve(self, d: Delivery) -> Job | None:
        if d.action == "send":
            reply_to = None
            if d.reply_to is not None:
                if d.reply_to.room == d.room:
                    reply_to = d.reply_to.id
                else:
                    ids = await self._copies(d.reply_to.room, d.reply_to.id, d.room)
                    reply_to = ids[0] if ids else None
            return Job(d, reply_to=reply_to)
        copies = await self._copies(d.origin.room, d.origin.id, d.room)
        return Job(d, copies=tuple(copies)) if copies else None

    async def _copies(self, origin_room: str, origin_id: str, room: str) -> list[str]:
        return await self.maps.copies(MsgRef(room=origin_room, id=origin_id), room)

    async def _sent(self, d: Delivery) -> bool:
        """A copy is sent once its room has a field in the origin's map record (written with
        the acknowledgement); anything else, once ``keys.sent`` is set. A copy keeps no key of
        its own for this: issue 23's Redis bytes."""
        if _copy(d):
            return d.room in await self.maps.record(d.origin)
        return bool(await self.redis.exists(keys.sent(d.key)))

    async def _retracted(self, d: Delivery) -> bool:
        """A copy (or an edit of one) of a message retracted since it was planned: it waited
        in this chat's queue while the retract ran, and is not sent at all."""
        if not _copy(d) and d.action != "edit":
            return False
        return bool(await self.redis.exists(keys.retracted(str(d.origin))))

    async def _attempt(self, job: Job) -> list[str] | None:
        """Deliver until it succeeds; None when it failed for good (dead-lettered) or its
        room left the network."""
        unexpected = 0
        failures_in_a_row = 0
        while True:
            if not await self._through(lambda: self._may_send(job.delivery)):
                await self._dead_letter(job.delivery, UNENCRYPTED)
                return None
            if await self._through(lambda: self._left(job.delivery)):
                log.info("bot %s: a copy for room %s not sent: the room left the network",
                         self.bot.id, job.delivery.room)  # fmt: skip
                return None
            try:
                return await asyncio.wait_for(self.bot.deliver(job), DEADLINE_S)
            except RetryLater as exc:
                self.retries += 1
                RETRIES.labels(self.bot.id, "error" if exc.backoff else "rate_limited").inc()
                failures_in_a_row = failures_in_a_row + 1 if exc.backoff else 0
                wait = retry_wait(exc, failures_in_a_row)
                log.info("bot %s: %s; retrying in %.1f s", self.bot.id, exc, wait)
                await asyncio.sleep(wait)
            except PermanentFailure as exc:
                await self._dead_letter(job.delivery, str(exc))
                return None
            except Exception as exc:
                unexpected += 1
                if unexpected >= MAX_UNEXPECTED:
                    log.exception("bot %s: delivery failed %d times", self.bot.id, unexpected)
                    await self._dead_letter(job.delivery, f"failed {unexpected} times: {exc!r}")
                    return None
                self.retries += 1
                RETRIES.labels(self.bot.id, "error").inc()
                await asyncio.sleep(min(2.0**unexpected, 60.0))

    async def _left(self, d: Delivery) -> bool:
        """The room was unlinked since (checked at each attempt: a copy that waited out a
        rate limit must not reach a room that left meanwhile)."""
        return self.left is not None and await self.left(d)

    async def _may_send(self, d: Delivery) -> bool:
        """The end-to-end-encryption rule again, at each attempt: a copy of an encrypted
        thread goes only into a room its bot still knows to be encrypted (the relay checked
        when routing; the room may have been upgraded, or changed, since)."""
        if not d.keep_encrypted or d.action == "delete":
            return True
        return bool(await self.redis.sismember(keys.bot_state(d.bot, "encrypted"), d.chat))

    async def _record(self, entry_id: str, d: Delivery, ids: list[str], job: Job) -> bool:
        """The copy in the message map, the entry acknowledged, in one transaction. True when
        its origin was retracted meanwhile (the send was on its way): delete it now."""
        ttl = self.map_ttl_s
        async with self.redis.pipeline(transaction=True) as pipe:
            if d.notice:  # no map record; a notice that takes replies (a held copy's) is
                if d.origin.id != "notice":  # found by its ids
                    await self.maps.add_copies(pipe, d.origin, d.room, ids, keep_s=ttl,
                                               notice=True)  # fmt: skip
            elif d.action == "send":
                # not when its origin was retracted meanwhile (a forgetme): the record is
                # stripped or gone, and a copy must not make it again; _withdraw deletes it
                gone = keys.retracted(str(d.origin)) if _copy(d) else ""  # as _withdraw does
                await self.maps.add_copies(pipe, d.origin, d.room, ids, keep_s=ttl, unless=gone)
                seen: dict[Any, Any] = {f"out:{d.room}": f"{time.time():.0f}"}  # for status
                if not d.callout and d.received:
                    seen[f"in:{d.origin.room}"] = f"{d.received:.0f}"
                pipe.hset(keys.ACTIVITY, mapping=seen)
            elif d.action == "delete":
                await self.maps.drop_copies(pipe, d.origin, d.room, job.copies)
            reactions.keep(pipe, d, self.keep_for(d) if self.keep_for else 0)
            if not _copy(d):  # a copy's sent mark is its field in the origin's record
                pipe.set(keys.sent(d.key), json.dumps(ids), ex=ttl)
            pipe.xack(self.stream, keys.DELIVER_GROUP, entry_id)
            pipe.xdel(self.stream, entry_id)
            pipe.exists(keys.retracted(str(d.origin)))
            results = await pipe.execute()
        await replicated(self.redis)  # a replica holds the record before the next send
        return _copy(d) and bool(results[-1])

    async def _withdraw(self, d: Delivery, ids: list[str]) -> None:
        """Delete a copy whose origin was retracted while it was being sent, and forget it."""
        gone = d.model_copy(update={"action": "delete", "key": f"{d.key}:retracted"})
        if await self._attempt(Job(gone, copies=tuple(ids))) is None:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            await self.maps.drop_copies(pipe, d.origin, d.room, ids)
            await pipe.execute()

    async def _dead_letter(self, d: Delivery, reason: str) -> None:
        self.dead_letters += 1
        DEAD_LETTERS.labels(self.bot.id).inc()
        log.warning("bot %s: delivery to room %s failed for good: %s", self.bot.id, d.room, reason)
        min_id = int((time.time() - self.map_ttl_s) * 1000)
        fields: dict[Any, Any] = {"d": d.model_dump_json(), "reason": reason, "bot": self.bot.id}
        await self.redis.xadd(keys.DEAD_LETTERS, fields, minid=min_id, approximate=True)
        if self.on_dead_letter is not None and not d.notice:
            try:
                await self.on_dead_letter(d, reason)
            except Exception:
                log.exception("bot %s: the dead-letter notice failed", self.bot.id)


def _copy(d: Delivery) -> bool:
    """A copy of a member's message (not a notice, not a call-out): what a retract reaches."""
    return d.action == "send" and not d.notice and not d.callout
