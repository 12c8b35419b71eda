"""Hourly upkeep of what Redis keeps on disk: expired dead letters go, then the append-only
file is rewritten, so that text deleted from Redis is gone from its disk too (design.md's
safety rules). Retract rewrites at once; this is the floor.

Dead letters hold whole deliveries (bodies). They are trimmed to ``retention`` here, every
hour, not only when another dead letter happens to arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from redis.asyncio import Redis

from bridge.infra.bus import compact
from bridge.model import keys

log = logging.getLogger(__name__)

UPKEEP_S = 3600.0


async def trim_dead_letters(redis: Redis, ttl_s: int, now: float) -> int:
    """Remove dead letters older than ``ttl_s`` (exactly, by stream id); how many went."""
    min_id = f"{int((now - ttl_s) * 1000)}-0"
    trimmed = int(await redis.xtrim(keys.DEAD_LETTERS, minid=min_id, approximate=False))
    if trimmed:
        await compact(redis, keys.DEAD_LETTERS)  # else their bytes stay in the stream's nodes
    return trimmed


async def upkeep(redis: Redis, dead_letter_ttl_s: int, now: float) -> None:
    trimmed = await trim_dead_letters(redis, dead_letter_ttl_s, now)
    if trimmed:
        log.info("%d expired dead letters removed", trimmed)
    try:
        await redis.bgrewriteaof()
    except Exception as exc:  # one already running, or a managed Redis that refuses it
        log.info("append-only rewrite not started: %s", exc)


async def hourly(
    redis: Redis,
    dead_letter_ttl_s: int,
    stop: asyncio.Event,
    clock: Callable[[], float] = time.time,
) -> None:
    """Run ``upkeep`` every ``UPKEEP_S`` until ``stop`` is set."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), UPKEEP_S)
        if stop.is_set():
            return
        try:
            await upkeep(redis, dead_letter_ttl_s, clock())
        except Exception:
            log.exception("hourly upkeep failed; trying again in an hour")
