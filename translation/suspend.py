"""Providers set aside after a quota or auth error, until the next hour; the operator told.

A provider that answers "quota spent" (DeepL 456, Google 403 with a quota reason, Microsoft
403000, a 429 that outlasts the retries) or "key refused" (401/403) will answer the same to
every message: each call would cost a round trip and, on some plans, money. So the chain
skips it until the top of the next hour (by the injected clock), then tries it again.

The operator hears of it once per provider, reason and UTC day across every process (a SET
NX in Redis, as translation.budget does), through ``on_blocked(provider, reason)``: without
Redis (the shell's ``translate``), once per process.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from redis.asyncio import Redis

log = logging.getLogger(__name__)

OnBlocked = Callable[[str, str], Awaitable[None]]
_TWO_DAYS_S = 2 * 86400


class Suspensions:
    def __init__(
        self,
        *,
        redis: Redis | None = None,
        prefix: str = "",
        on_blocked: OnBlocked | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.on_blocked = on_blocked
        self.clock = clock  # tests inject one
        self.until: dict[str, float] = {}
        self._told: set[str] = set()

    def allows(self, provider: str) -> bool:
        until = self.until.get(provider)
        return until is None or self.clock() >= until

    async def block(self, provider: str, reason: str) -> None:
        """Skip ``provider`` until the next hour; tell the operator once a day."""
        now = self.clock()
        self.until[provider] = (math.floor(now / 3600) + 1) * 3600
        day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        key = f"{self.prefix}{provider}:{reason}:{day}"
        if self.redis is not None:
            first = bool(await self.redis.set(key, 1, nx=True, ex=_TWO_DAYS_S))
        else:
            first = key not in self._told
            self._told.add(key)
        if not first:
            return
        log.warning("translation by %s is set aside until the next hour: %s", provider, reason)
        if self.on_blocked is not None:
            try:
                await self.on_blocked(provider, reason)
            except Exception:
                log.exception("the notice that %s is set aside failed", provider)
