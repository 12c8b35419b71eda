"""Invite codes and linked rooms in Redis, and each process following them (issue 18).

- An invite code (``tl-7KQ2-M9``: six characters of Crockford's base 32, about 10⁹ codes) is
  kept only as its SHA-256, for 48 hours. Redeeming it is one Lua script: the code is gone,
  the room is written and the version counted in one step, so two chats racing with one code
  cannot both win, and no room id or chat is linked twice.
- Only a hint of a code (``tl-7K…``) ever reaches a log line or the audit.
- Wrong codes are counted per chat for an hour; five and the chat is refused for an hour.
  Expiry and refusal are read on the injected clock (``App.links_clock``), not Redis TTLs
  alone, so that tests move time instead of waiting.
- ``follow`` runs in every process: it reads ``keys.LINKED_VERSION`` every second and, when
  it moved, lays the linked rooms over the config (``bridge.config.linked.merge``) and tells
  the callers (the bots serve their new rooms). A linked room the config file now has too is
  dropped from Redis at start-up, with a log line (the file's room takes over).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

from pydantic import ValidationError
from redis.asyncio import Redis

from bridge.config.linked import LinkedRoom, is_linked, merge
from bridge.config.models import Config
from bridge.infra.retry import step_until_stopped
from bridge.model import keys
from bridge.model.envelope import Delivery
from bridge.model.settings import RoomConfig

log = logging.getLogger(__name__)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O or U to misread
CODE_TTL_S = 48 * 3600
FAILURES_ALLOWED = 5  # wrong codes from one chat in an hour before it is refused
FOLLOW_EVERY_S = 1.0
MAX_INVITES = 50  # open codes per circle; a moderator who wants more revokes some


def left_behind(config: Config, redis: Redis) -> Callable[[Delivery], Awaitable[bool]]:
    """For a deliverer, before each attempt: is ``d`` a copy for a room linked from chat that
    has been unlinked since the relay planned it? Such a copy is not sent: a room may leave
    because its chat was taken over, and what waited in its bot's outbox (behind a slow send,
    a rate limit) must not reach it then. Redis decides, not this process's rooms, which
    follow a second later: unlinked (``keys.unlinked``, kept for the map's retention) and not
    linked again. A room this process does not know otherwise (one the file of a process
    restarted before this one added) is sent to as before. A delete still goes (a retract
    reaches the copies made there), and the bridge's own answers (the unlink's own). A room
    of the config file costs no Redis call."""

    async def left(d: Delivery) -> bool:
        if d.action == "delete" or d.notice:
            return False
        if not is_linked(config, d.room) and any(r.id == d.room for r in config.rooms):
            return False  # the file's: removed only by a restart
        async with redis.pipeline(transaction=False) as pipe:
            pipe.exists(keys.unlinked(d.room))
            pipe.hexists(keys.LINKED, d.room)
            unlinked, linked = await pipe.execute()
        return bool(unlinked) and not linked

    return left


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(6))
    return f"tl-{raw[:4]}-{raw[4:]}"


def normalize(code: str) -> str | None:
    """The six characters of a code as typed (any case, with or without ``tl-`` and dashes;
    O read as 0, I and L as 1), or None when it cannot be one."""
    raw = code.strip().upper()
    raw = raw.removeprefix("TL")
    raw = raw.replace("-", "").replace(" ", "").translate(str.maketrans("OIL", "011"))
    if len(raw) != 6 or any(c not in ALPHABET for c in raw):
        return None
    return raw


def digest(raw: str) -> str:
    return hashlib.sha256(f"translocal-invite:{raw}".encode()).hexdigest()


def hint(code: str) -> str:
    """What logs and the audit show of a code: enough to tell two apart, not to use one."""
    raw = normalize(code)
    return f"tl-{raw[:2]}…" if raw else "tl-?"


@dataclass(frozen=True)
class Invite:
    hint: str
    circle: str
    by: str  # "<platform>:<user id>"
    name: str  # the maker's display name when the code was made
    room: str  # the room it was made in
    expires: float


@dataclass(frozen=True)
class Redeemed:
    """What a redeem found: ``outcome`` is "linked", "unknown" (wrong, used or expired),
    "id" (the room id is taken) or "chat" (the chat is linked already)."""

    outcome: str
    circle: str = ""
    by: str = ""


_REDEEM = """
local invite = redis.call('HGETALL', KEYS[1])
if #invite == 0 then return {'unknown'} end
local fields = {}
for i = 1, #invite, 2 do fields[invite[i]] = invite[i + 1] end
if fields['digest'] ~= ARGV[1] or fields['circle'] ~= ARGV[2] then return {'unknown'} end
if tonumber(fields['expires']) <= tonumber(ARGV[6]) then return {'unknown'} end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return {'id'} end
if redis.call('HEXISTS', KEYS[3], ARGV[5]) == 1 then return {'chat'} end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[3])
redis.call('INCR', KEYS[4])
return {'linked', fields['circle'], fields['by']}
"""


class LinkStore:
    def __init__(self, redis: Redis, clock: Callable[[], float]) -> None:
        self.redis = redis
        self.clock = clock
        self._redeem = redis.register_script(_REDEEM)

    # invites
    async def invite(self, circle: str, by: str, room: str, name: str = "") -> str | None:
        """A new code for ``circle``; None when the circle has ``MAX_INVITES`` open already.
        ``by`` (a platform id) is for the audit; ``name`` is what ``invite list`` shows other
        rooms' moderators (a user id is not theirs to see)."""
        now = self.clock()
        index = keys.invites(circle)
        await self.redis.zremrangebyscore(index, "-inf", now)
        if await self.redis.zcard(index) >= MAX_INVITES:
            return None
        code = new_code()
        found = digest(cast(str, normalize(code)))
        expires = now + CODE_TTL_S
        async with self.redis.pipeline(transaction=True) as tx:
            tx.hset(keys.invite(found), mapping={
                "digest": found, "circle": circle, "by": by, "room": room, "name": name[:64],
                "expires": str(expires), "hint": hint(code),
            })  # fmt: skip
            tx.expire(keys.invite(found), CODE_TTL_S)
            tx.zadd(index, {found: expires})
            await tx.execute()
        return code

    async def invites(self, circle: str) -> list[Invite]:
        """The circle's open invites, soonest to expire first."""
        now = self.clock()
        index = keys.invites(circle)
        await self.redis.zremrangebyscore(index, "-inf", now)
        found = []
        for item in cast(list[str], await self.redis.zrange(index, 0, -1)):
            fields = cast(dict[str, str], await self.redis.hgetall(keys.invite(item)))
            if fields:
                found.append(Invite(fields["hint"], fields["circle"], fields["by"],
                                    fields.get("name", ""), fields["room"],
                                    float(fields["expires"])))  # fmt: skip
        return found

    async def circle_of(self, code: str) -> str | None:
        """The circle a code invites to, while it holds; else None. Compared in constant
        time: a code is looked up by its digest, and the digest compared with hmac."""
        raw = normalize(code)
        if raw is None:
            return None
        found = digest(raw)
        fields = cast(dict[str, str], await self.redis.hgetall(keys.invite(found)))
        if not fields or not hmac.compare_digest(fields.get("digest", ""), found):
            return None
        if float(fields.get("expires", 0)) <= self.clock():  # by the clock the caller runs on
            return None
        return fields.get("circle")

    async def revoke(self, circle: str, code: str) -> bool:
        """Withdraw an open code of ``circle`` (a code of another circle is not touched)."""
        raw = normalize(code)
        if raw is None or await self.circle_of(code) != circle:
            return False
        found = digest(raw)
        removed = await self.redis.delete(keys.invite(found))
        await self.redis.zrem(keys.invites(circle), found)
        return bool(removed)

    # wrong codes
    async def refused(self, bot: str, chat: str) -> bool:
        """Whether this chat tried ``FAILURES_ALLOWED`` wrong codes within an hour and that
        hour of refusal (from the last of them) has not passed, by ``clock``."""
        until = await self.redis.get(keys.link_refused(bot, chat))
        return until is not None and float(until) > self.clock()

    async def failed(self, bot: str, chat: str) -> int:
        """Count a wrong code: how many this chat tried in the last hour (by ``clock``, so
        that tests move time); the ``FAILURES_ALLOWED``-th refuses the chat for an hour."""
        now = self.clock()
        key = keys.link_failures(bot, chat)
        async with self.redis.pipeline(transaction=True) as tx:
            tx.zremrangebyscore(key, "-inf", now - 3600)
            tx.zadd(key, {secrets.token_hex(8): now})
            tx.zcard(key)
            tx.expire(key, 2 * 3600)
            _gone, _added, count, _ttl = await tx.execute()
        if int(count) >= FAILURES_ALLOWED:
            await self.redis.set(keys.link_refused(bot, chat), repr(now + 3600), ex=2 * 3600)
        return int(count)

    # linked rooms
    async def redeem(self, code: str, circle: str, room: LinkedRoom) -> Redeemed:
        raw = normalize(code)
        if raw is None:
            return Redeemed("unknown")
        found = digest(raw)
        result = await self._redeem(
            keys=[keys.invite(found), keys.LINKED, keys.LINKED_CHATS, keys.LINKED_VERSION,
                  keys.invites(circle)],
            args=[found, circle, room.room.id, room.model_dump_json(), _chat_key(room),
                  repr(self.clock())],
        )  # fmt: skip
        return Redeemed(*(str(x) for x in cast(list[str], result)))

    async def unlink(self, room_id: str, keep_s: int = 0) -> LinkedRoom | None:
        """Remove a linked room; None if not linked. Its map entries stay until they expire,
        and for ``keep_s`` (the message map's retention) its settings too, so that a retract
        still deletes the copies made there (``retired``)."""
        raw = await self.redis.hget(keys.LINKED, room_id)
        if raw is None:
            return None
        read = _read(str(raw))
        found = read if isinstance(read, LinkedRoom) else None
        async with self.redis.pipeline(transaction=True) as tx:
            tx.hdel(keys.LINKED, room_id)
            if found is not None and found.room.id == room_id:  # not a copy under another key
                tx.hdel(keys.LINKED_CHATS, _chat_key(found))
                if keep_s > 0:
                    tx.set(keys.unlinked(room_id), found.room.model_dump_json(), ex=keep_s)
            tx.incr(keys.LINKED_VERSION)
            await tx.execute()
        return found

    async def retired(self, room_id: str) -> RoomConfig | None:
        """A room unlinked within the map's retention, for a retract's deletes there."""
        raw = await self.redis.get(keys.unlinked(room_id))
        try:
            return RoomConfig.model_validate_json(raw) if raw is not None else None
        except ValidationError:
            return None

    async def records(self) -> tuple[list[LinkedRoom], dict[str, str]]:
        """The linked rooms' records, by id: those that read, and why each other one does
        not (it does not parse, or it holds another room's record: written by hand, or
        forged). Nothing is logged here: ``rooms`` logs, ``translocal rooms`` prints."""
        raw = cast(dict[str, str], await self.redis.hgetall(keys.LINKED))
        found: list[LinkedRoom] = []
        bad: dict[str, str] = {}
        for room_id, text in sorted(raw.items()):
            room = _read(text)
            if isinstance(room, str):
                bad[room_id] = room
            elif room.room.id != room_id:
                bad[room_id] = "holds another room's record"
            else:
                found.append(room)
        return found, bad

    async def rooms(self) -> list[LinkedRoom]:
        """The records that read; each other one is left out with a log line."""
        found, bad = await self.records()
        for room_id, why in bad.items():
            log.warning("linked room %s %s and is left out", room_id, why)
        return found

    async def version(self) -> int:
        return int(await self.redis.get(keys.LINKED_VERSION) or 0)


def _chat_key(room: LinkedRoom) -> str:
    return f"{room.room.bot}\t{room.room.chat}"


def _read(text: str) -> LinkedRoom | str:
    """A record, or why it cannot be read (the error count only: the errors quote the
    record, whose label someone may have written)."""
    try:
        return LinkedRoom.model_validate_json(text)
    except ValidationError as exc:  # written by another version, or by hand
        return f"is unreadable ({exc.error_count()} errors)"


Changed = Callable[[], Awaitable[None]]


async def load(config: Config, store: LinkStore) -> int:
    """Lay the linked rooms over ``config`` at start-up; a room the config file has now
    takes over the linked one, which is dropped from Redis. Returns the version read."""
    version = await store.version()
    for room_id in merge(config, await store.rooms()):  # merge has said why
        await store.unlink(room_id)
        log.warning("linked room %s: unlinked (the config file decides)", room_id)
    return version


async def follow(
    config: Config,
    store: LinkStore,
    stop: asyncio.Event,
    version: int,
    on_change: list[Changed],
    every_s: float = FOLLOW_EVERY_S,
) -> None:
    """Until ``stop``: lay the linked rooms over ``config`` whenever their version moves."""
    seen = version

    async def step() -> None:
        nonlocal seen
        now = await store.version()
        if now != seen:
            merge(config, await store.rooms())
            seen = now
            for callback in on_change:
                await callback()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)

    await step_until_stopped(step, stop, "linked rooms")
