"""The call-out clock: what time it is for the scheduler, and how it waits for a moment.

``WallClock`` is real time, optionally running ``speed`` times faster from the moment it was
made (``translocal run --clock-speed``, for demos and tests). ``ManualClock`` moves only when
told, so tests check schedules at exact moments without sleeping until them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, cast

from redis.asyncio import Redis

from bridge.model import keys


class Clock(Protocol):
    speed: float  # clock seconds per real second (0: it moves only when told)

    def now(self) -> datetime:
        """The current moment, aware, in UTC."""
        ...

    async def sleep_until(self, when: datetime | None, stop: asyncio.Event, limit_s: float) -> None:
        """Return when the clock reaches ``when`` (None: never), ``stop`` is set, or after
        ``limit_s`` real seconds, whichever comes first."""
        ...


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), max(seconds, 0.0))


class WallClock:
    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("the clock speed must be positive")
        self.speed = speed
        self._start = datetime.now(UTC)
        self._mono = time.monotonic()

    def align(self, moment: datetime) -> None:
        """Show ``moment`` now and run on from there (a faster clock joins another's time)."""
        self._start = moment
        self._mono = time.monotonic()

    def now(self) -> datetime:
        if self.speed == 1.0:
            return datetime.now(UTC)
        return self._start + timedelta(seconds=(time.monotonic() - self._mono) * self.speed)

    async def sleep_until(self, when: datetime | None, stop: asyncio.Event, limit_s: float) -> None:
        wait = limit_s
        if when is not None:
            wait = min(wait, (when - self.now()).total_seconds() / self.speed)
        await _wait(stop, wait)


class ManualClock:
    """A clock for tests: ``set`` and ``advance`` move it and wake whoever sleeps on it."""

    speed = 0.0

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)
        self._moved.set()
        self._moved = asyncio.Event()

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)

    async def sleep_until(self, when: datetime | None, stop: asyncio.Event, limit_s: float) -> None:
        if when is not None and when <= self._now:
            return
        moved = self._moved
        stopping = asyncio.ensure_future(stop.wait())
        waking = asyncio.ensure_future(moved.wait())
        try:
            await asyncio.wait({stopping, waking}, timeout=limit_s,
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            stopping.cancel()
            waking.cancel()


async def publish(redis: Redis, clock: Clock) -> None:
    """Tell other processes (chat commands, the CLI) what time the scheduler's clock shows,
    so that "in the past" means the same for them; kept while the scheduler runs."""
    state = {"real": time.time(), "clock": clock.now().timestamp(), "speed": clock.speed}
    await redis.set(keys.CALLOUT_CLOCK, json.dumps(state), ex=30)


async def shared_now(redis: Redis) -> datetime:
    """The running scheduler's time (the wall clock when no scheduler runs)."""
    found = await shared_clock(redis)
    return found[0] if found is not None else datetime.now(UTC)


async def shared_clock(redis: Redis) -> tuple[datetime, float] | None:
    """The running scheduler's time and speed, if one runs."""
    raw = cast(str | None, await redis.get(keys.CALLOUT_CLOCK))
    if not raw:
        return None
    state = json.loads(raw)
    moment = state["clock"] + (time.time() - state["real"]) * state["speed"]
    return datetime.fromtimestamp(moment, UTC), float(state["speed"])


async def join(redis: Redis, clock: Clock) -> None:
    """A faster wall clock takes the time of a scheduler already running at the same speed,
    so that several scheduler processes agree on what time it is."""
    found = await shared_clock(redis)
    if isinstance(clock, WallClock) and clock.speed != 1.0 and found and found[1] == clock.speed:
        clock.align(found[0])
