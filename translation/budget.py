"""A character budget per translation provider per UTC day (``translation.daily_char_budget``).

A paid provider bills by the character, and one member's flood would otherwise be paid once
per language. Each call first spends its text's length (as the provider sees it) from the
provider's budget for the day; a call that does not fit is not made, and the chain goes on to
the next provider or, with none left, delivers the original with a note (as when translation
fails). Cache hits cost nothing.

The count lives in Redis (``<prefix><provider>:<YYYY-MM-DD>``, expiring after two days), so
every relay worker and the call-out scheduler spend from one budget. The first refusal of
the day calls ``on_exhausted(provider, limit)`` once across all processes (a SET NX), for one
notice to the operator.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from redis.asyncio import Redis

log = logging.getLogger(__name__)

OnExhausted = Callable[[str, int], Awaitable[None]]
_TWO_DAYS_S = 2 * 86400

_SPEND = """
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
if used == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
if used > tonumber(ARGV[2]) then
  redis.call('DECRBY', KEYS[1], ARGV[1])
  return 0
end
return 1
"""


class DailyBudget:
    def __init__(
        self,
        redis: Redis,
        prefix: str,
        limit: int,
        *,
        on_exhausted: OnExhausted | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limit = limit
        self.on_exhausted = on_exhausted
        self.clock = clock  # tests inject one
        self._spend = redis.register_script(_SPEND)

    def _day(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%d")

    async def spend(self, provider: str, chars: int) -> bool:
        """True when ``chars`` fit in today's budget of ``provider`` (and are spent)."""
        day = self._day()
        key = f"{self.prefix}{provider}:{day}"
        if await self._spend(keys=[key], args=[chars, self.limit, _TWO_DAYS_S]):
            return True
        told = await self.redis.set(f"{key}:told", 1, nx=True, ex=_TWO_DAYS_S)
        if told:
            log.warning("translation by %s: the daily budget of %d characters is spent",
                        provider, self.limit)  # fmt: skip
            if self.on_exhausted is not None:
                try:
                    await self.on_exhausted(provider, self.limit)
                except Exception:
                    log.exception("the budget notice for %s failed", provider)
        return False
