"""Telegram's flood limits for bots, with a time scale so tests can hit them quickly.

Per bot, for every message it sends or edits (sendMessage, sendPhoto, sendDocument, sendVoice,
sendSticker, editMessageText, editMessageCaption), three rules hold at once:

* per chat: about 1 message a second, with a burst of 3 (a token bucket: 3 tokens, one back
  every second);
* per group chat: 20 messages a minute (a sliding 60-second window);
* per bot: 30 messages a second over all chats (a sliding 1-second window).

`scale` multiplies every duration: with scale 0.05 "a second" is 50 ms and "a minute" is 3 s.
A refused call is not counted against the windows. Its `retry_after` is the wait in real
(wall-clock) seconds until the call would pass, rounded up to a whole number and at least 1, so
a client that sleeps exactly retry_after seconds always gets through, at any scale. The exact
wait is kept in `Refusal.wait` for benchmarks.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Refusal:
    """One 429 the limits gave: to whom, for which chat and rule, and the exact wait."""

    bot_id: int
    chat_id: int
    rule: str
    wait: float  # real seconds until the call would have passed
    retry_after: int  # what the client was told
    at: float  # time.monotonic() when refused


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass
class RateLimiter:
    """Checks and records sends per bot; `enabled=False` lets everything through."""

    enabled: bool = True
    scale: float = 1.0
    chat_burst: int = 3
    chat_per_second: float = 1.0
    group_per_minute: int = 20
    bot_per_second: int = 30
    too_many: Counter[tuple[int, int]] = field(default_factory=Counter)
    refusals: list[Refusal] = field(default_factory=list)
    _buckets: dict[tuple[int, int], _Bucket] = field(default_factory=dict)
    _groups: dict[tuple[int, int], deque[float]] = field(default_factory=dict)
    _bots: dict[int, deque[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError("scale must be positive")

    def reset(self) -> None:
        """Forget every send (the counters of refusals stay)."""
        self._buckets.clear()
        self._groups.clear()
        self._bots.clear()

    def check(self, bot_id: int, chat_id: int, *, group: bool, now: float | None = None) -> int:
        """Records a send and returns 0, or returns retry_after (>= 1) and records nothing."""
        if not self.enabled:
            return 0
        now = time.monotonic() if now is None else now
        second, minute = self.scale, 60.0 * self.scale
        waits: list[tuple[float, str]] = []

        bucket = self._buckets.get((bot_id, chat_id))
        if bucket is not None:
            rate = self.chat_per_second / second
            bucket.tokens = min(self.chat_burst, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens < 1.0:
                waits.append(((1.0 - bucket.tokens) / rate, "chat"))

        window = self._groups.setdefault((bot_id, chat_id), deque())
        while window and window[0] <= now - minute:
            window.popleft()
        if group and len(window) >= self.group_per_minute:
            waits.append((window[0] + minute - now, "group"))

        sent = self._bots.setdefault(bot_id, deque())
        while sent and sent[0] <= now - second:
            sent.popleft()
        if len(sent) >= self.bot_per_second:
            waits.append((sent[0] + second - now, "bot"))

        if waits:
            wait, rule = max(waits)
            retry_after = max(1, math.ceil(wait - 1e-9))
            self.too_many[(bot_id, chat_id)] += 1
            self.refusals.append(Refusal(bot_id, chat_id, rule, wait, retry_after, now))
            return retry_after

        if bucket is None:
            bucket = self._buckets[(bot_id, chat_id)] = _Bucket(float(self.chat_burst), now)
        bucket.tokens -= 1.0
        if group:
            window.append(now)
        sent.append(now)
        return 0
