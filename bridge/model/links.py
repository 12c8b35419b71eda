"""What a bot needs to let a chat join the network from inside it (issue 18, "Adding a city").

A bot added to a chat that is neither configured nor linked keeps it *pending*: it stays for
``PENDING_WINDOW_S``, says once how an admin links the room, and leaves if nobody does. At
most ``PENDING_MAX`` chats wait per bot; past that the bot leaves a new one at once. While a
chat waits, the bot carries nothing from it: the only thing it reads there is ``link``,
handed to the bridge as a ``LinkRequest`` through ``BotContext.link``, ``LINK_TRIES`` times
per sender and window at most (``attempt``). The pending chats live
in Redis (``keys.pending_chats``), so that a restart keeps the window, and every bot process
of one bot id sees one list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from bridge.model import keys
from bridge.model.i18n import Message, Param, _
from bridge.model.settings import RoomConfig

PENDING_WINDOW_S = 15 * 60  # how long an unlinked chat may wait for its link
PENDING_MAX = 20  # chats waiting at once, per bot; past that the bot leaves a new one at once
LINK_TRIES = 10  # link commands read from one sender in a waiting chat, per window


def waiting_text(command: str, invite: str) -> Message:
    """What a bot says once in a chat it keeps pending: how an admin links it (``command``:
    the platform's ``link`` with its arguments; ``invite``: the command a moderator of the
    network runs for a code), and that it leaves when the window passes. One text for every
    platform, so that each catalog translates it once."""
    return _("This chat is not part of the network yet, and nothing from here is carried "
             "anywhere. An admin of this chat can link it with {command}, using a code from a "
             "moderator of a room in the network (they get one with {invite}). If nobody "
             "does, this bot leaves in {minutes} minutes.", command=command, invite=invite,
             minutes=PENDING_WINDOW_S // 60)  # fmt: skip


@dataclass(frozen=True)
class LinkRequest:
    """``link CODE <language> <label> [timezone]`` sent in a chat the bot does not serve."""

    bot: str
    chat: str  # the platform's id of the chat (Telegram: the group id; Matrix: the room id)
    sender: str  # "<platform>:<user id>"
    name: str  # the sender's display name, for the audit and the join notice
    admin: bool  # the platform says the sender administers the chat (Matrix: power 50+)
    args: str  # everything after the command word, as typed
    hint: str = ""  # the sender's app language, if the platform says (for a refusal)


@dataclass(frozen=True)
class LinkAnswer:
    """What the bot says in the chat, and the room it serves from now on (None: refused)."""

    text: Param
    language: str  # the language to say it in
    room: RoomConfig | None = None


class PendingChats:
    """One bot's chats waiting for a link, by when it leaves them (Unix seconds)."""

    def __init__(
        self,
        redis: Redis,
        bot: str,
        clock: Callable[[], float],
        *,
        window_s: float = PENDING_WINDOW_S,
        limit: int = PENDING_MAX,
    ) -> None:
        self.redis = redis
        self.key = keys.pending_chats(bot)
        self.clock = clock
        self.window_s = window_s
        self.limit = limit

    async def add(self, chat: str) -> bool:
        """Start ``chat``'s window; False when ``limit`` chats wait already (leave at once).
        A chat already waiting keeps its window (re-adding the bot does not extend it)."""
        now = self.clock()
        # a chat past its window still counts until the sweep leaves it: no room to spare
        added = await self.redis.eval(_ADD, 1, self.key, chat, now + self.window_s, self.limit)
        return bool(added)

    async def waiting(self, chat: str) -> bool:
        """Whether ``chat`` is within its window now."""
        until = await self.redis.zscore(self.key, chat)
        return until is not None and float(until) > self.clock()

    async def due(self) -> list[str]:
        """The chats whose window has passed: the bot leaves them, then ``done`` each."""
        found = await self.redis.zrangebyscore(self.key, "-inf", self.clock())
        return [str(c) for c in cast(list[str], found)]

    async def attempt(self, chat: str, sender: str) -> bool:
        """Count a ``link`` from ``sender`` in ``chat``: False past ``LINK_TRIES`` within a
        window, and the adapter ignores it (no admin lookup, no answer, no audit), so that a
        flood costs a bounded number of platform calls; another sender keeps its own."""
        who = hashlib.sha256(sender.encode()).hexdigest()[:16]  # no user id in a key name
        key = f"{self.key}:tries:{chat}:{who}"
        async with self.redis.pipeline(transaction=True) as tx:
            tx.set(key, 0, nx=True, ex=max(int(self.window_s), 1))  # Redis 6.2: no EXPIRE NX
            tx.incr(key)
            _new, tries = await tx.execute()
        return int(tries) <= LINK_TRIES

    async def done(self, chat: str) -> None:
        """``chat`` no longer waits: linked, or left."""
        await self.redis.zrem(self.key, chat)


# ZADD NX under a cap, in one step: two updates of one bot racing cannot pass the cap
_ADD = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""
