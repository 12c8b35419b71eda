"""Delivery reports to organizers: where one occurrence of a call-out landed, failed or was
skipped, room by room.

The scheduler records an outcome per room and fire (queued or skipped) and adds the
occurrence (one moment for ``instant``; one wall time in every room for ``local``) to
``keys.CALLOUT_REPORTS_DUE``. Here, once every target room has an outcome (or
``STALE_S`` has passed since the first fire), one process takes the occurrence's report lock
and waits, up to ``report_wait_s``, until each queued delivery is sent (the deliverer marked
it) or failed (it is in the dead-letter stream). The report then goes to the call-out's
``report_to`` (the chat it came from, in reply to the command), else ``ops_room``, in that
room's language with ids and times kept, and is kept for ``translocal callouts list``.

A report that is still waiting when the scheduler stops releases its lock, so a later run
sends it; a sent one keeps its lock as "done" for as long as the outcomes are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis

from bridge.callouts import rsvp
from bridge.callouts.model import Callout, targets
from bridge.callouts.store import CalloutStore
from bridge.config.models import Config, RoomConfig
from bridge.infra.metrics import CALLOUTS_DELIVERED, CALLOUTS_FAILED, CALLOUTS_SCHEDULED
from bridge.model import keys
from bridge.model.envelope import Delivery
from bridge.model.i18n import Lines, Listing, Message, Param, When, _, ngettext
from bridge.relay.notices import localize, notice_in
from bridge.relay.translate import Translator

log = logging.getLogger(__name__)

OUTCOMES_S = 3 * 86400  # how long the outcomes of an occurrence are kept for its report
STALE_S = 27 * 3600  # an occurrence still incomplete this long after its first fire is reported


class Reports:
    """The reports one scheduler process sends; ``tasks`` holds those still waiting."""

    def __init__(
        self,
        config: Config,
        redis: Redis,
        translator: Translator,
        store: CalloutStore,
        *,
        name: str,
        wait_s: float,
    ) -> None:
        self.config = config
        self.redis = redis
        self.translator = translator
        self.store = store
        self.name = name
        self.wait_s = wait_s
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self._closing = asyncio.Event()

    async def start(self, now: datetime, callouts: Mapping[str, Callout]) -> None:
        """Start the reports that are due and that no process has taken yet."""
        due = cast(
            list[tuple[str, float]],
            await self.redis.zrange(keys.CALLOUT_REPORTS_DUE, 0, 199, withscores=True),
        )
        for member, first in due:
            if member in self.tasks:
                continue
            callout_id, _, occ = member.partition("|")
            callout = callouts.get(callout_id)
            if callout is None:  # cancelled since
                await self.redis.zrem(keys.CALLOUT_REPORTS_DUE, member)
                continue
            rooms = targets(callout, self.config)
            outcomes = await self.redis.hkeys(keys.callout_outcomes(callout_id, occ))
            complete = {r.id for r in rooms} <= set(outcomes)
            if not complete and now.timestamp() - first < STALE_S:
                continue
            lock = keys.callout_report_lock(callout_id, occ)
            if not await self.redis.set(lock, self.name, nx=True, ex=int(self.wait_s) + 60):
                continue
            task = asyncio.create_task(self._report(callout, occ, rooms), name=f"report-{member}")
            task.add_done_callback(functools.partial(self._done, member))
            self.tasks[member] = task

    async def close(self) -> None:
        """Stop waiting for reports; their locks are released so a later run sends them.

        The report tasks are told through an event rather than only cancelled: redis-py can
        lose a cancellation that lands inside a command, and a report waits for minutes."""
        self._closing.set()
        tasks = list(self.tasks.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=5.0)
            for task in late:
                task.cancel()
            for task in late:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _done(self, member: str, task: asyncio.Task[None]) -> None:
        self.tasks.pop(member, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("call-out report %s failed", member, exc_info=task.exception())

    async def _report(self, callout: Callout, occ: str, rooms: list[RoomConfig]) -> None:
        lock = keys.callout_report_lock(callout.id, occ)
        try:
            lines = await self._outcomes(callout, occ, rooms)
        except asyncio.CancelledError:
            await self.redis.delete(lock)  # a later run reports it
            raise
        if lines is None:  # stopping
            await self.redis.delete(lock)
            return
        landed = sum(1 for status, _, _ in lines if status == "landed")
        for room, (status, _label, _why) in zip(rooms, lines, strict=True):
            circle = circle_of(callout, room.id, self.config)
            if status == "landed":
                CALLOUTS_DELIVERED.labels(circle).inc()
            else:
                CALLOUTS_FAILED.labels(circle, status.replace(" ", "_")).inc()
        report = {"occurrence": occ, "landed": landed, "rooms": len(rooms),
                  "lines": [[s, room, why] for s, room, why in lines]}  # fmt: skip
        await self.store.add_report(callout.id, report)
        text = report_text(callout, occ, lines, len(rooms))
        if callout.rsvp:  # the answers so far; bridge.callouts.rsvp_report keeps them current
            found = await rsvp.counts(self.redis, callout.id, occ)
            text = Lines((*text.parts, *rsvp.lines(callout, self.config, found)))
        where = callout.report_to or self.config.ops_room
        async with self.redis.pipeline(transaction=True) as pipe:
            if where is not None:
                delivery = await self._delivery(callout, occ, where, text)
                pipe.xadd(keys.outbox(delivery.bot), {"d": delivery.model_dump_json()})
            pipe.zrem(keys.CALLOUT_REPORTS_DUE, f"{callout.id}|{occ}")
            pipe.set(lock, "done", ex=OUTCOMES_S)
            await pipe.execute()
        log.info("call-out %s (%s): landed in %d of %d rooms", callout.id, occ, landed, len(rooms))

    async def _delivery(self, callout: Callout, occ: str, room_id: str, text: Param) -> Delivery:
        room = self.config.room(room_id)
        reply = callout.reply_to if room_id == callout.report_to else None
        shown = await localize(text, room.language, self.translator)
        return notice_in(room, shown, key=f"callout-report:{callout.id}:{occ}", reply_to=reply)

    async def _outcomes(
        self, callout: Callout, occ: str, rooms: list[RoomConfig]
    ) -> list[tuple[str, str, str]] | None:
        """(status, room label, why) per room, once every queued delivery is sent or failed
        (or the wait is over); None when the scheduler stops first."""
        deadline = asyncio.get_running_loop().time() + self.wait_s
        while True:
            if self._closing.is_set():
                return None
            raw = cast(
                dict[str, str], await self.redis.hgetall(keys.callout_outcomes(callout.id, occ))
            )
            outcomes = {room: json.loads(v) for room, v in raw.items()}
            queued = [o for o in outcomes.values() if o["status"] == "queued"]
            sent = await self._sent([o["key"] for o in queued])
            failed = await self._dead(queued) if len(sent) < len(queued) else {}
            lines: list[tuple[str, str, str]] = []
            waiting = 0
            for room in rooms:
                o = outcomes.get(room.id)
                if o is None:
                    lines.append(("not fired", room.label, "its time had not come"))
                elif o["status"] == "skipped":
                    lines.append(("skipped", room.label, o["why"]))
                elif o["key"] in sent:
                    lines.append(("landed", room.label, ""))
                elif o["key"] in failed:
                    lines.append(("failed", room.label, failed[o["key"]]))
                else:
                    waiting += 1
                    lines.append(("waiting", room.label, "not confirmed yet, still queued"))
            if not waiting or asyncio.get_running_loop().time() > deadline:
                return lines
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), 0.2)

    async def _sent(self, delivery_keys: list[str]) -> set[str]:
        if not delivery_keys:
            return set()
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in delivery_keys:
                pipe.exists(keys.sent(key))
            found = await pipe.execute()
        return {k for k, there in zip(delivery_keys, found, strict=True) if there}

    async def _dead(self, queued: Iterable[dict[str, Any]]) -> dict[str, str]:
        """Delivery key -> why, for those of ``queued`` in the dead-letter stream."""
        wanted = {o["key"] for o in queued}
        since = min((o["queued_ms"] for o in queued), default=0)
        found: dict[str, str] = {}
        entries = await self.redis.xrange(
            keys.DEAD_LETTERS, min=f"{since}-0", max="+", count=10_000
        )
        for _entry_id, fields in entries or []:
            fields = fields or {}
            try:
                key = json.loads(fields.get("d", "{}")).get("key")
            except ValueError:
                continue
            if key in wanted:
                found[key] = str(fields.get("reason", "failed"))
        return found


def circle_of(callout: Callout, room: str, config: Config) -> str:
    """A room's circle in the call-out metrics: the first of the call-out's circles that
    holds it; "-" for a room the call-out names itself."""
    return next((c.id for c in config.circles if c.id in callout.circles and room in c.rooms), "-")


def count_scheduled(callouts: Iterable[Callout]) -> None:
    """Set the scheduled call-outs gauge: per circle, "-" for those naming rooms."""
    counts = Counter(label for c in callouts
                     for label in (*c.circles, *(("-",) if c.rooms else ())))  # fmt: skip
    CALLOUTS_SCHEDULED.clear()
    for circle, n in counts.items():
        CALLOUTS_SCHEDULED.labels(circle).set(n)


def _status(status: str, room: str, why: str) -> Message:
    """One room that the call-out did not land in, and why (a delivery failure's reason is
    the platform's own words, shown as they are)."""
    if status == "not fired":
        return _("Not fired: {room}: its time had not come.", room=room)
    if status == "waiting":
        return _("Waiting: {room}: not confirmed yet, still queued.", room=room)
    if status == "skipped":
        return _("Skipped: {room}: {reason}.", room=room, reason=why)
    return _("Failed: {room}: {reason}.", room=room, reason=why)


def occurrence_time(occ: str) -> Param:
    """An occurrence id ("2025-06-13T17:00L" local wall time, or "...Z" UTC) as a time."""
    wall = datetime.strptime(occ[:16], "%Y-%m-%dT%H:%M")  # noqa: DTZ007 - wall or UTC, below
    if occ.endswith("L"):  # each room's own 17:00
        return _("{when} (local time)", when=When(wall))
    return When(wall.replace(tzinfo=UTC), "UTC")


def report_text(callout: Callout, occ: str, lines: list[tuple[str, str, str]], total: int) -> Lines:
    """The organizers' report: where one occurrence landed, failed or was skipped."""
    landed = [room for status, room, _why in lines if status == "landed"]
    when = occurrence_time(occ)
    out: list[Param] = [
        ngettext("Call-out {id}, {when}: landed in {landed} of {n} room.",
                 "Call-out {id}, {when}: landed in {landed} of {n} rooms.",
                 total, id=callout.id, when=when, landed=len(landed))
    ]  # fmt: skip
    if landed:
        out.append(_("Landed: {rooms}.", rooms=Listing(tuple(landed))))
    out += [_status(status, room, why) for status, room, why in lines if status != "landed"]
    return Lines(tuple(out))
