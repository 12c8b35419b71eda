"""A circuit breaker per provider: a dead provider costs one timeout, not one per message."""

from __future__ import annotations

import time
from collections.abc import Callable


class Breaker:
    """Closed: calls go through. Open: they are skipped until ``cooldown_s`` has passed; then
    one trial call goes through (half-open), and its outcome closes or reopens the breaker.

    A timeout opens it at once (waiting again would cost every message a timeout); other
    errors open it after ``threshold`` in a row.
    """

    def __init__(
        self,
        cooldown_s: float = 30.0,
        threshold: int = 3,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cooldown_s = cooldown_s
        self.threshold = threshold
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() >= self.opened_at + self.cooldown_s else "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._trial = False

    def failure(self, *, timeout: bool = False) -> None:
        self.failures += 1
        self._trial = False
        if timeout or self.failures >= self.threshold or self.opened_at is not None:
            self.opened_at = self.clock()
