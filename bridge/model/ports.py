"""The ports adapters implement: the Bot protocol, what a bot is given, and delivery errors.

``bots/`` implements these; the bridge only ever sees them, never a platform library's types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from redis.asyncio import Redis

from bridge.config.models import BotSettings, RoomConfig
from bridge.model.envelope import Delivery, Envelope

Emit = Callable[[Envelope], Awaitable[object]]


@dataclass(frozen=True)
class Job:
    """A delivery with its message ids resolved in the target chat, just before sending."""

    delivery: Delivery
    reply_to: str | None = None  # the platform id to reply to in this chat, if any
    copies: tuple[str, ...] = ()  # for edit and delete: the ids of the copy's parts


@dataclass
class BotContext:
    """What the bridge gives a bot: its settings, its rooms, storage, and the way in."""

    settings: BotSettings
    rooms: list[RoomConfig]
    redis: Redis
    data_dir: Path
    emit: Emit  # puts an envelope into the inbox; returns once it is stored
    # tells the operator something (in ops_room, else in this bot's first room); never a body
    notice: Callable[[str], Awaitable[None]] = field(default=lambda text: _no_notice(text))
    media_ttl_s: int = 24 * 3600  # how long carried files wait in Redis (retention.recent_hours)
    extra: dict[str, object] = field(default_factory=dict)


async def _no_notice(text: str) -> None:
    return None


@runtime_checkable
class Bot(Protocol):
    """One account on one platform."""

    id: str

    async def start(self) -> None:
        """Connect and begin emitting envelopes through the context's ``emit``."""

    async def stop(self) -> None:
        """Stop taking updates in; deliveries in flight may finish. A bot may also have an
        ``async close()``, called once the deliverers have drained, to release its client."""

    async def deliver(self, job: Job) -> list[str]:
        """Send, edit or delete one copy; return the platform ids of the parts sent or edited.

        Raise RetryLater when the platform asks to wait (nothing was sent), and
        PermanentFailure when it never will succeed (bot kicked, chat gone).
        """
        ...


class DeliveryError(Exception):
    pass


class RetryLater(DeliveryError):
    """Not sent; try again after ``after`` seconds.

    ``backoff=False`` (a 429): the platform said how long; wait exactly that. ``backoff=True``
    (a 5xx, a timeout, a network error): ``after`` is the least wait, and the deliverer doubles
    it for each failure in a row, up to a cap.
    """

    def __init__(self, after: float, reason: str, *, backoff: bool = False) -> None:
        super().__init__(reason)
        self.after = after
        self.backoff = backoff


class PermanentFailure(DeliveryError):
    """Will never succeed as it is; goes to the dead-letter stream."""


BotFactory = Callable[[BotContext], Bot]
