"""The call-out fire loop: APScheduler's triggers say when; this loop, on an injectable clock,
decides who sends, sends through the outboxes, and reports.

For each call-out and each target room, the next fire comes from the room's cursor (the last
fire handled there, kept in Redis). When a fire is due:

- one process wins it: ``SET NX`` on a lock per (call-out, fire time, room), so with several
  schedulers on the same Redis every fire is sent exactly once;
- it is translated once per language and added to the rooms' outboxes in one transaction
  with the cursor and the outcome, so a crash leaves it either wholly queued or not at all;
  the delivery key (``callout:<id>:<fire>:<room>``) keeps the deliverer from sending it twice;
- a fire missed by more than ``callout_grace_minutes`` (everything was down) is not sent but
  recorded as skipped; within the grace it goes late.

Each room's outcome (queued or skipped) is recorded with the fire and its occurrence marked
due for a report; ``bridge.callouts.reports`` sends the reports (where it landed, failed or
was skipped) once every room has had it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bridge.callouts.clock import Clock, join, publish
from bridge.callouts.model import (
    EPOCH,
    Callout,
    iso,
    next_fire,
    occurrence,
    targets,
    zone_of,
)
from bridge.callouts.reports import OUTCOMES_S, Reports, circle_of, count_scheduled
from bridge.callouts.rsvp import invite
from bridge.callouts.rsvp_report import update_reports
from bridge.callouts.store import CalloutStore
from bridge.callouts.text import render
from bridge.config.models import Config, RoomConfig
from bridge.infra.metrics import CALLOUTS_FIRED
from bridge.model import keys
from bridge.model.envelope import Delivery, MsgRef
from bridge.relay.notices import localize
from bridge.relay.translate import Translator
from bridge.relay.worker import worker_id

log = logging.getLogger(__name__)

LOCK_S = 60  # a process that won a fire has this long to queue it before another may
DONE_S = 2 * 3600  # a handled fire's lock stays this long past the grace period
MAX_MISSED = 10_000  # missed fires counted in one go


class Scheduler:
    """The fire loop of one process: ``run`` until stopped, or ``tick`` on a test's clock."""

    def __init__(
        self,
        config: Config,
        redis: Redis,
        translator: Translator,
        clock: Clock,
        *,
        name: str | None = None,
        poll_s: float = 1.0,
        report_wait_s: float = 600.0,
    ) -> None:
        self.config = config
        self.redis = redis
        self.translator = translator
        self.clock = clock
        self.name = name or worker_id()
        self.poll_s = poll_s
        self.store = CalloutStore(redis)
        self.reports = Reports(
            config, redis, translator, self.store, name=self.name, wait_s=report_wait_s
        )
        self.grace = timedelta(minutes=config.callout_grace_minutes)
        self.callouts: dict[str, Callout] = {}
        self._version = -1
        self._next: dict[tuple[str, str, str, datetime], datetime | None] = {}
        self.queued = 0  # deliveries this process queued
        self.skipped = 0  # room fires this process recorded as skipped

    # ---- the loop ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        await join(self.redis, self.clock)
        for change in await self.store.reconcile(self.config, self.clock.now().timestamp()):
            log.info("call-outs from the config: %s", change)
        while not stop.is_set():
            wake: datetime | None = None
            try:
                wake = await self.tick()
            except Exception:
                log.exception("call-out scheduler: a tick failed; trying again")
            await self.clock.sleep_until(wake, stop, self.poll_s)
        await self.close()

    async def close(self) -> None:
        """Stop waiting for reports; their locks are released so a later run sends them."""
        await self.reports.close()

    async def tick(self) -> datetime | None:
        """Handle everything due now; returns when the next fire is (None: nothing left)."""
        now = self.clock.now()
        await publish(self.redis, self.clock)
        await self._reload()
        earliest: datetime | None = None
        for callout in list(self.callouts.values()):
            when = await self._tick_one(callout, now)
            if when is not None and (earliest is None or when < earliest):
                earliest = when
        await self.reports.start(now, self.callouts)
        await update_reports(self.reports, now, self.callouts)
        return earliest

    async def _reload(self) -> None:
        version = await self.store.version()
        if version != self._version:
            self.callouts = await self.store.all()
            self._version = version
            count_scheduled(self.callouts.values())
            self._next.clear()

    def _next_fire(self, callout: Callout, zone: ZoneInfo, after: datetime) -> datetime | None:
        key = (callout.id, callout.model_dump_json(), str(zone), after)
        if key not in self._next:
            if len(self._next) > 10_000:
                self._next.clear()
            self._next[key] = next_fire(callout, zone, after)
        return self._next[key]

    async def _tick_one(self, callout: Callout, now: datetime) -> datetime | None:
        rooms = targets(callout, self.config)
        cursors = await self.store.cursors(callout.id)
        start = datetime.fromtimestamp(callout.since, UTC) if callout.since is not None else EPOCH
        due: dict[datetime, list[RoomConfig]] = defaultdict(list)
        missed: list[tuple[RoomConfig, datetime]] = []
        earliest: datetime | None = None
        for room in rooms:
            fire = self._next_fire(callout, zone_of(callout, room), cursors.get(room.id, start))
            if fire is None:
                continue
            if fire > now:
                earliest = fire if earliest is None or fire < earliest else earliest
            elif now - fire > self.grace:
                missed.append((room, fire))
            else:
                due[fire].append(room)
        for fire, group in sorted(due.items()):
            await self._send(callout, fire, group, now)
        for room, fire in missed:
            await self._skip(callout, room, fire, now)
        if due or missed:
            return now  # look again at once: the next fires may be due too
        return earliest

    # ---- one fire ------------------------------------------------------------------------

    async def _win(
        self, callout: Callout, fire: datetime, rooms: list[RoomConfig]
    ) -> list[RoomConfig]:
        """The rooms of this fire this process handles (each won by exactly one process)."""
        stamp = iso(fire)
        async with self.redis.pipeline(transaction=False) as pipe:
            for room in rooms:
                pipe.set(
                    keys.callout_fire(callout.id, stamp, room.id), self.name, nx=True, ex=LOCK_S
                )
            won = await pipe.execute()
        return [room for room, ok in zip(rooms, won, strict=True) if ok]

    def _done_s(self) -> int:
        return int(self.grace.total_seconds()) + DONE_S

    async def _send(
        self, callout: Callout, fire: datetime, rooms: list[RoomConfig], now: datetime
    ) -> None:
        won = await self._win(callout, fire, rooms)
        if not won:
            return
        stamp = iso(fire)
        rendered = await render(
            self.translator, callout, self.config, {room.language for room in won}
        )
        asks = {room.id: "" for room in won}  # an RSVP call-out's invitation, per room
        if callout.rsvp:
            for room in won:
                shown = await localize(invite(room, self.config), room.language, self.translator)
                asks[room.id] = "\n\n" + shown
        queued_ms = int(time.time() * 1000)
        async with self.redis.pipeline(transaction=True) as pipe:
            for room in won:
                r = rendered[room.language]
                delivery = Delivery.to(
                    room,
                    key=f"callout:{callout.id}:{stamp}:{room.id}",
                    action="send",
                    origin=MsgRef(room=room.id, id=f"callout:{callout.id}:{stamp}"),
                    attribution=r.attribution,
                    text=r.text + asks[room.id],
                    spans=r.spans,
                    language=room.language,
                    source_language=r.source,
                    translated=r.translated,
                    untranslated=r.untranslated,
                    received=time.time(),
                    pin=callout.pin,
                    callout=True,  # its heading is marked as no member's copy can be
                )
                pipe.xadd(keys.outbox(room.bot), {"d": delivery.model_dump_json()})
                outcome = {"fire": stamp, "status": "queued", "key": delivery.key,
                           "queued_ms": queued_ms}  # fmt: skip
                self._record(pipe, callout, room, fire, outcome)
            await pipe.execute()
        self.queued += len(won)
        for room in won:
            CALLOUTS_FIRED.labels(circle_of(callout, room.id, self.config)).inc()
        late = (now - fire).total_seconds()
        log.info("call-out %s: fire %s queued for %d rooms%s", callout.id, stamp, len(won),
                 f" ({late / 60:.0f} min late)" if late >= 60 else "")  # fmt: skip

    def _record(
        self, pipe: Any, callout: Callout, room: RoomConfig, fire: datetime, outcome: dict[str, Any]
    ) -> None:
        stamp = iso(fire)
        occ = occurrence(callout, fire, zone_of(callout, room))
        outcomes = keys.callout_outcomes(callout.id, occ)
        pipe.hset(keys.callout_cursor(callout.id), room.id, outcome.get("last", stamp))
        pipe.hset(outcomes, room.id, json.dumps(outcome))
        pipe.expire(outcomes, OUTCOMES_S)
        pipe.set(keys.callout_fire(callout.id, stamp, room.id), "done", ex=self._done_s())
        pipe.zadd(keys.CALLOUT_REPORTS_DUE, {f"{callout.id}|{occ}": fire.timestamp()}, nx=True)

    async def _skip(
        self, callout: Callout, room: RoomConfig, fire: datetime, now: datetime
    ) -> None:
        """A fire missed beyond the grace period: not sent; every fire missed since is
        counted, the cursor moves past them, and the report says so."""
        if not await self._win(callout, fire, [room]):
            return
        zone = zone_of(callout, room)
        last, count = fire, 1
        while count < MAX_MISSED:
            following = self._next_fire(callout, zone, last)
            if following is None or now - following <= self.grace:
                break
            last, count = following, count + 1
        late = now - fire
        why = f"missed by {_duration(late)}, beyond the {_duration(self.grace)} grace period"
        if count > 1:
            why = f"{count} fires missed (the first by {_duration(late)}), beyond the grace period"
        outcome = {"fire": iso(fire), "status": "skipped", "why": why, "last": iso(last)}
        async with self.redis.pipeline(transaction=True) as pipe:
            self._record(pipe, callout, room, fire, outcome)
            await pipe.execute()
        self.skipped += 1
        log.warning("call-out %s: fire %s in room %s skipped: %s", callout.id, iso(fire),
                    room.id, why)  # fmt: skip


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"
