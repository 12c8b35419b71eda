"""What a bot needs to let a chat join the network from inside it (issue 18, "Adding a city").

A bot added to a chat that is neither configured nor linked keeps it *pending*: it stays for
``PENDING_WINDOW_S``, says once how an admin links the room, and leaves if nobody does. At
most ``PENDING_MAX`` chats wait per bot, ``PENDING_PER_ADDER`` of one user's adding and
``PENDING_PER_SERVER`` of one homeserver's users' (where users have one: Matrix);
past that the bot leaves a new one at once. While a
chat waits, the bot carries nothing from it: the only thing it reads there is ``link``,
handed to the bridge as a ``LinkRequest`` through ``BotContext.link``, ``LINK_TRIES`` times
per sender and window at most (``attempt``). The pending chats live
in Redis (``keys.pending_chats``), so that a restart keeps the window, and every bot process
of one bot id sees one list. Every adapter leaves the chats whose window passed with one loop,
``PendingChats.sweep``, given how to leave one chat on its platform.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.model import keys
from bridge.model.i18n import Message, Param, _
from bridge.model.settings import RoomConfig

PENDING_WINDOW_S = 15 * 60  # how long an unlinked chat may wait for its link
PENDING_MAX = 20  # chats waiting at once, per bot; past that the bot leaves a new one at once
# chats one user's adds or invites keep waiting at once: one account alone cannot fill the
# bot's places with rooms of its own and block every real link, window after window
PENDING_PER_ADDER = 3
# and one server's users (Matrix): whoever runs a homeserver has as many accounts as she likes
PENDING_PER_SERVER = 5
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


# said (on Telegram) in a chat the bot leaves at once because too many wait already: the
# admin who added it is not misled into thinking the bridge is misconfigured
TOO_MANY_WAITING = _(
    "Too many chats are waiting to be linked to the network right now, so this bot cannot wait "
    "here; nothing from here was carried. Add it again later: places free up within {minutes} "
    "minutes. It is leaving now.", minutes=PENDING_WINDOW_S // 60,
)  # fmt: skip


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
        per_adder: int = PENDING_PER_ADDER,
        per_server: int = PENDING_PER_SERVER,
    ) -> None:
        self.redis = redis
        self.key = keys.pending_chats(bot)
        self.by_key = keys.pending_adders(bot)
        self.clock = clock
        self.window_s = window_s
        self.limit = limit
        self.per_adder = per_adder
        self.per_server = per_server

    async def add(self, chat: str, by: str, server: str = "") -> bool:
        """Start ``chat``'s window; False when ``limit`` chats wait already, or ``per_adder``
        chats ``by`` (the user who added or invited the bot) added, or ``per_server`` chats
        users of ``server`` (her homeserver, where she has one; ``per_server`` 0: no such cap)
        added: leave at once. A chat
        already waiting keeps its window (re-adding the bot does not extend it)."""
        now = self.clock()
        who = _digest(by)
        where = _digest(f"server:{server}") if server and self.per_server > 0 else ""
        # a chat past its window still counts until the sweep leaves it: no room to spare
        added = await self.redis.eval(
            _ADD, 2, self.key, self.by_key,
            chat, now + self.window_s, self.limit, who, self.per_adder, where, self.per_server,
        )  # fmt: skip
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
        who = _digest(sender)  # no user id in a key name
        key = f"{self.key}:tries:{chat}:{who}"
        async with self.redis.pipeline(transaction=True) as tx:
            tx.set(key, 0, nx=True, ex=max(int(self.window_s), 1))  # Redis 6.2: no EXPIRE NX
            tx.incr(key)
            _new, tries = await tx.execute()
        return int(tries) <= LINK_TRIES

    async def done(self, chat: str) -> None:
        """``chat`` no longer waits: linked, or left."""
        async with self.redis.pipeline(transaction=True) as tx:
            tx.zrem(self.key, chat)
            tx.hdel(self.by_key, chat)
            await tx.execute()

    async def sweep(
        self,
        leave: Callable[[str], Awaitable[None]],
        every_s: float,
        failed: Callable[[Exception], None],
    ) -> None:
        """Leave the chats whose window has passed, every ``every_s`` seconds, until cancelled.

        ``leave(chat)`` is the adapter's: it leaves the chat on its platform, swallowing the
        platform's errors (a chat gone already; a leave that failed is not tried again), and
        logs that it left; the chat is then ``done``. When Redis or the network fails,
        ``failed(exc)`` logs it and the next round tries again: an outage must not end the
        sweep, or pending chats would keep the bot in them past their window."""
        while True:
            try:
                for chat in await self.due():
                    await leave(chat)
                    await self.done(chat)
            except (RedisError, OSError) as exc:
                failed(exc)
            await asyncio.sleep(every_s)


def _digest(user: str) -> str:
    return hashlib.sha256(user.encode()).hexdigest()[:16]


# ZADD NX under the caps, in one step: two updates of one bot racing cannot pass them. An
# adder's (and a server's) chats are counted among those still waiting (a chat left without
# ``done``, by a crash, no longer counts); the hash holds "<adder> <server>" digests per chat
_ADD = """
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
local by = redis.call('HGETALL', KEYS[2])
local mine, ours = 0, 0
for i = 1, #by, 2 do
  if redis.call('ZSCORE', KEYS[1], by[i]) then
    local who, where = string.match(by[i + 1], '^(%S*) ?(%S*)$')
    if who == ARGV[4] then mine = mine + 1 end
    if ARGV[6] ~= '' and where == ARGV[6] then ours = ours + 1 end
  end
end
if mine >= tonumber(ARGV[5]) then return 0 end
if ARGV[6] ~= '' and ours >= tonumber(ARGV[7]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4] .. ' ' .. ARGV[6])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""
