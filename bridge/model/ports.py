"""The ports adapters implement: the Bot protocol, what a bot is given, and delivery errors.

``bots/`` implements these; the bridge only ever sees them, never a platform library's types.
A bot is built by its platform's factory from a ``BotContext`` typed with its own settings
model, and is driven by the composition root in this order: ``start`` (updates begin to
flow through ``emit``), ``deliver`` (any number, from its deliverer), ``stop`` (no more
updates), then ``close`` once its deliverer has drained. ``health`` is asked by /healthz.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from redis.asyncio import Redis

from bridge.model.envelope import Delivery, Envelope
from bridge.model.i18n import Param, _
from bridge.model.links import PENDING_MAX, PENDING_PER_SERVER, LinkAnswer, LinkRequest
from bridge.model.settings import BotSettings, RoomConfig

Emit = Callable[[Envelope], Awaitable[object]]
S = TypeVar("S", bound=BotSettings)


@dataclass(frozen=True)
class Job:
    """A delivery with its message ids resolved in the target chat, just before sending."""

    delivery: Delivery
    reply_to: str | None = None  # the platform id to reply to in this chat, if any
    copies: tuple[str, ...] = ()  # for edit and delete: the ids of the copy's parts


async def _no_notice(text: Param) -> None:
    return None


async def _may(chat: str, sender: str) -> bool:
    return True


async def _no_links(request: LinkRequest) -> LinkAnswer:
    return LinkAnswer(_("This bridge does not link rooms from chat."), request.hint or "en")


# language code -> the command menu in it: (command word, what it does), in help's order;
# "" is the default (English), for members whose app language has no catalog
CommandMenu = dict[str, list[tuple[str, str]]]


@dataclass
class BotContext(Generic[S]):
    """What the bridge gives a bot: its settings, its rooms, storage, and the way in."""

    settings: S
    rooms: list[RoomConfig]
    redis: Redis
    data_dir: Path
    emit: Emit  # puts an envelope into the inbox; returns once it is stored
    # tells the operator something (in ops_room, else in this bot's first room), a marked
    # text rendered in that room's language; never a body
    notice: Callable[[Param], Awaitable[None]] = field(default=_no_notice)
    media_ttl_s: int = 24 * 3600  # how long carried files wait in Redis (retention.recent_hours)
    commands: CommandMenu = field(default_factory=dict)  # for a platform's command menu
    # whether a message of ``sender`` ("<platform>:<user id>") in ``chat`` may cross anywhere
    # now; False only when it never will (its room is paused or sends to no circle, its
    # sender opted out): its file is then not downloaded at all (the composition root asks
    # the moderation state)
    may_carry: Callable[[str, str], Awaitable[bool]] = field(default=_may)
    # ``link CODE ...`` from a chat the bot does not serve: the bridge checks the code and
    # answers; a LinkAnswer with a room means the bot serves that chat from now on
    link: Callable[[LinkRequest], Awaitable[LinkAnswer]] = field(default=_no_links)
    clock: Callable[[], float] = field(default=time.time)  # pending chats' windows
    pending_limit: int = PENDING_MAX  # chats waiting for a link at once (0: invites are off)
    # of them, invited by users of one homeserver (Matrix; 0: no such cap; link.per_server)
    pending_per_server: int = PENDING_PER_SERVER
    pending_sweep_s: float = 30.0  # how often the bot leaves chats whose window has passed
    # Matrix: invites from users on these servers are declined (config link.refuse_servers)
    refuse_servers: frozenset[str] = frozenset()


@runtime_checkable
class Bot(Protocol):
    """One account on one platform."""

    id: str

    async def start(self) -> None:
        """Connect and begin emitting envelopes through the context's ``emit``."""

    async def stop(self) -> None:
        """Stop taking updates in; deliveries in flight may finish."""

    async def close(self) -> None:
        """Release the platform client, once the deliverer has drained."""

    async def health(self) -> str | None:
        """None when the platform answers and the bot's credentials hold; else one line
        saying what is wrong (no text, no token)."""

    async def serve(self, rooms: list[RoomConfig]) -> None:
        """The rooms this bot serves now (the config's and those linked from chat), after a
        room was linked or unlinked while it runs: a new one is read from now on, one gone
        is read no more."""

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


BotFactory = Callable[[BotContext[Any]], Bot]
