"""Pacing within Telegram's limits, so that the bot queues instead of collecting 429s.

Telegram's documented limits: about one message per second in a chat, 20 messages per minute
in a group, 30 messages per second for the whole bot. Each is a sliding window here; a send
waits until every window that applies has room, then takes its place in all of them.
``scale`` shortens every window alike (the sandbox Bot API server can do the same), so that
tests and benchmarks of the rules run in seconds.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable


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

    def move(self, taken: float, to: float) -> None:
        """A send taken at ``taken`` counts from ``to`` instead (a later moment)."""
        with contextlib.suppress(ValueError):
            self.times.remove(taken)
            bisect.insort(self.times, to)


class Limiter:
    PER_CHAT = (1, 1.0)
    PER_GROUP = (20, 60.0)
    PER_BOT = (30, 1.0)

    def __init__(
        self,
        scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        in_flight: int = 16,
    ) -> None:
        self.scale = scale
        self.clock = clock
        # A slot is granted only to a send that can go out at once: with many chats waiting,
        # a send granted at t but queued for an HTTP connection would reach Telegram later,
        # bunched with the next second's sends, and the server's window would overflow.
        self._flight = asyncio.Semaphore(in_flight)
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

    @contextlib.asynccontextmanager
    async def slot(self, chat: str, *, group: bool = True) -> AsyncIterator[None]:
        """Hold a slot for one send into ``chat`` while the request is made."""
        await self._ready(chat, group)
        async with self._flight:
            granted = await self.acquire(chat, group=group)
            windows = self._windows(chat, group)
            try:
                yield
            finally:
                # Telegram counts the send when it handles it, somewhere before its answer:
                # count it at the answer, so that no window of Telegram's can hold more
                done = self.clock()
                for w in windows:
                    w.move(granted, done)

    async def _ready(self, chat: str, group: bool) -> None:
        """Wait until the chat's own windows have room (the bot-wide one is taken later)."""
        windows = self._windows(chat, group)[1:]
        while (wait := max(w.wait(self.clock()) for w in windows)) > 0:
            self.waited += wait
            await asyncio.sleep(wait)

    async def acquire(self, chat: str, *, group: bool = True) -> float:
        """Wait for a free slot to send into ``chat``, and take it; the moment it was taken."""
        windows = self._windows(chat, group)
        while True:
            now = self.clock()
            wait = max(w.wait(now) for w in windows)
            if wait <= 0:
                for w in windows:
                    w.take(now)
                return now
            self.waited += wait
            await asyncio.sleep(wait)

    def hold(self, chat: str, seconds: float) -> None:
        """The server said to wait (a 429): keep this chat's window full for ``seconds``."""
        window = self._chats.get(chat)
        if window is not None:
            until = self.clock() + seconds
            window.times = deque([until - window.seconds] * window.limit)
