"""One way to keep a loop going through Redis outages: step, and on a Redis error back off
(0.2 s doubling to 5 s), say so once per failure, and try again until told to stop.

A restarted or unreachable Redis must never end a deliverer or a relay worker for good: each
waits and goes on where it was (what it had read and not committed is read again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

MAX_WAIT_S = 5.0


async def step_until_stopped(
    step: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    what: str,
    on_failure: Callable[[], None] = lambda: None,
) -> None:
    """Call ``step`` until ``stop`` is set; ``on_failure`` runs after each Redis error, before
    the wait (to mark what must be read again)."""
    failures = 0
    while not stop.is_set():
        try:
            await step()
            failures = 0
        except (RedisError, OSError) as exc:
            failures += 1
            on_failure()
            wait = min(0.1 * 2**failures, MAX_WAIT_S)
            log.warning("%s: redis failed (%s); retrying in %.1f s", what, exc, wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
