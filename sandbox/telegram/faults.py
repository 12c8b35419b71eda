"""Failures on demand: 5xx answers, stray 429s and requests held without acting.

Injected faults hit the next N calls of one method, in order; random faults hit a fraction of
calls (of every method, or of the methods named), drawn from a seeded generator so a run
repeats. A fault is decided before the call acts, so a faulted call changed nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

STATUS_TEXT = {
    429: "Too Many Requests: retry after 1",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Fault:
    """What to do instead of acting: answer `status`, after holding the request `hold` s."""

    status: int
    hold: float = 0.0

    @property
    def kind(self) -> str:
        return "timeout" if self.hold > 0 else str(self.status)


@dataclass
class _Injected:
    status: int
    hold: float
    left: int


@dataclass
class Faults:
    """The faults in force, and how many of each were given (by kind and method)."""

    p_5xx: float = 0.0
    p_429: float = 0.0
    p_timeout: float = 0.0
    timeout_s: float = 5.0
    methods: frozenset[str] | None = None  # lower-case names; None: all
    given: Counter[tuple[str, str]] = field(default_factory=Counter)
    _injected: dict[str, list[_Injected]] = field(default_factory=dict)
    _random: random.Random = field(default_factory=lambda: random.Random(0))

    def inject(self, method: str, *, status: int = 500, count: int = 1, hold: float = 0) -> None:
        """The next `count` calls of `method` answer `status` (after holding `hold` s)."""
        if status not in STATUS_TEXT:
            raise ValueError(f"status must be one of {sorted(STATUS_TEXT)}")
        if count < 1 or hold < 0:
            raise ValueError("count is at least 1 and hold is not negative")
        queue = self._injected.setdefault(method.lower(), [])
        queue.append(_Injected(status, hold, count))

    def configure(
        self,
        *,
        p_5xx: float = 0.0,
        p_429: float = 0.0,
        p_timeout: float = 0.0,
        timeout_s: float = 5.0,
        seed: int = 0,
        methods: list[str] | None = None,
    ) -> None:
        """Random faults from now on (all probabilities 0: none)."""
        for p in (p_5xx, p_429, p_timeout):
            if not 0.0 <= p <= 1.0:
                raise ValueError("probabilities are between 0 and 1")
        self.p_5xx, self.p_429, self.p_timeout = p_5xx, p_429, p_timeout
        self.timeout_s = timeout_s
        self.methods = frozenset(m.lower() for m in methods) if methods else None
        self._random = random.Random(seed)

    def clear(self) -> None:
        """No more faults, injected or random."""
        self._injected.clear()
        self.configure()

    def draw(self, method: str) -> Fault | None:
        """The fault for this call of `method`, if any, counted as given."""
        name = method.lower()
        fault = self._next_injected(name) or self._next_random(name)
        if fault is not None:
            self.given[(fault.kind, name)] += 1
        return fault

    def _next_injected(self, name: str) -> Fault | None:
        queue = self._injected.get(name)
        if not queue:
            return None
        head = queue[0]
        head.left -= 1
        if head.left <= 0:
            queue.pop(0)
        return Fault(head.status, head.hold)

    def _next_random(self, name: str) -> Fault | None:
        if self.methods is not None and name not in self.methods:
            return None
        if not (self.p_timeout or self.p_5xx or self.p_429):
            return None
        roll = self._random.random()
        if roll < self.p_timeout:
            return Fault(502, self.timeout_s)
        roll -= self.p_timeout
        if roll < self.p_5xx:
            return Fault(self._random.choice((500, 502)))
        roll -= self.p_5xx
        if roll < self.p_429:
            return Fault(429)
        return None
