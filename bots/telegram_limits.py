"""Pacing within Telegram's limits, so that the bot queues instead of collecting 429s.

Telegram's documented limits: about one message per second in a chat, 20 messages per minute
in a group, 30 messages per second for the whole bot. Each is a sliding window here; a send
waits until every window that applies has room, then takes its place in all of them.
``scale`` shortens every window alike (the sandbox Bot API server can do the same), so that
tests and benchmarks of the rules run in seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class Window:
    """At most ``limit`` events in any ``seconds``-long window.

    The window is kept a little longer than the rule (1%, and 5 ms at least): the server
    sees a send a moment after we make it, and a send timed to the exact edge could arrive
    early by its clock.
    """

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds * 1.01 + 0.005
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self.times and self.times[0] <= now - self.seconds:
            self.times.popleft()
        if len(self.times) < self.limit:
            return 0.0
        return self.times[0] + self.seconds - now

    def take(self, now: float) -> None:
        self.times.append(now)


class Limiter:
    PER_CHAT = (1, 1.0)
    PER_GROUP = (20, 60.0)
    PER_BOT = (30, 1.0)

    def __init__(self, scale: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.scale = scale
        self.clock = clock
        self._chats: dict[str, Window] = {}
        self._groups: dict[str, Window] = {}
        self._bot = Window(self.PER_BOT[0], self.PER_BOT[1] * scale)
        self.waited = 0.0  # seconds spent waiting, for metrics and benches

    def _windows(self, chat: str, group: bool) -> list[Window]:
        windows = [self._bot]
        if chat not in self._chats:
            self._chats[chat] = Window(self.PER_CHAT[0], self.PER_CHAT[1] * self.scale)
        windows.append(self._chats[chat])
        if group:
            if chat not in self._groups:
                self._groups[chat] = Window(self.PER_GROUP[0], self.PER_GROUP[1] * self.scale)
            windows.append(self._groups[chat])
        return windows

    async def acquire(self, chat: str, *, group: bool = True) -> None:
        """Wait for a free slot to send into ``chat``, and take it."""
        windows = self._windows(chat, group)
        while True:
            now = self.clock()
            wait = max(w.wait(now) for w in windows)
            if wait <= 0:
                for w in windows:
                    w.take(now)
                return
            self.waited += wait
            await asyncio.sleep(wait)

    def hold(self, chat: str, seconds: float) -> None:
        """The server said to wait (a 429): keep this chat's window full for ``seconds``."""
        window = self._chats.get(chat)
        if window is not None:
            until = self.clock() + seconds
            window.times = deque([until - window.seconds] * window.limit)
