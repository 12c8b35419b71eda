"""The moderation state, and an in-process mirror of it so that deciding costs no round trip.

State is ids only, under ``tl:``: flags (a thread shared or held in a circle, a thread hidden
from a room) as members of one sorted set scored by when they expire; the paused rooms; the
opted-out people. Every change bumps a version counter. Each process keeps a mirror, read
again when the counter moved (checked at most every ``MIRROR_CHECK_S``) and at least every
``MIRROR_RELOAD_S`` (for expiry), so that a change made by another process is seen within
milliseconds while a message costs nothing.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from bridge.model import keys
from bridge.model.envelope import MsgRef

WEEK_S = 7 * 86400
MIRROR_CHECK_S = 0.05  # how stale another process's moderation change may be seen here
MIRROR_RELOAD_S = 60.0


class ModerationState:
    def __init__(self, redis: Redis, flag_ttl_s: int) -> None:
        self.redis = redis
        self.flag_ttl_s = flag_ttl_s  # flags live as long as the message map
        self.flags: set[str] = set()
        self.paused_rooms: set[str] = set()
        self.opted_out: set[str] = set()
        self.quarantined: set[str] = set()  # rooms nothing crosses out of (quarantine)
        self.filter_terms: frozenset[str] = frozenset()  # "<room>\t<term>" added at run time
        self._version: int | None = None
        self._checked = 0.0
        self._loaded = 0.0

    async def fresh(self) -> None:
        """Bring the mirror up to date if another process may have changed the state."""
        now = time.monotonic()
        if now - self._checked < MIRROR_CHECK_S:
            return
        self._checked = now
        version = int(await self.redis.get(keys.MOD_VERSION) or 0)
        if version == self._version and now - self._loaded < MIRROR_RELOAD_S:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(keys.MOD_VERSION)
            pipe.zremrangebyscore(keys.MOD_FLAGS, 0, time.time())
            pipe.zrange(keys.MOD_FLAGS, 0, -1)
            pipe.smembers(keys.PAUSED)
            pipe.smembers(keys.OPTED_OUT)
            pipe.smembers(keys.QUARANTINED)
            pipe.smembers(keys.FILTERS)
            version_now, _, flags, paused, opted_out, quarantined, terms = await pipe.execute()
        self._version = int(version_now or 0)
        self.flags = {str(f) for f in flags}
        self.paused_rooms = {str(p) for p in paused}
        self.opted_out = {str(o) for o in opted_out}
        self.quarantined = {str(q) for q in quarantined}
        self.filter_terms = frozenset(str(t) for t in terms)
        self._loaded = now

    async def _change(self, setting: dict[str, int], clearing: list[str]) -> None:
        """Set flags (name -> seconds to live) and clear others, here and in Redis, where they
        are members of one sorted set scored by when they expire."""
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            if setting:
                pipe.zadd(keys.MOD_FLAGS, {key: now + ttl for key, ttl in setting.items()})
            if clearing:
                pipe.zrem(keys.MOD_FLAGS, *clearing)
            pipe.incr(keys.MOD_VERSION)
            await pipe.execute()
        self.flags |= set(setting)
        self.flags -= set(clearing)

    async def pause(self, room: str, on: bool) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            (pipe.sadd if on else pipe.srem)(keys.PAUSED, room)
            pipe.incr(keys.MOD_VERSION)
            await pipe.execute()
        (self.paused_rooms.add if on else self.paused_rooms.discard)(room)

    async def opt_out(self, sender: str, out: bool) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            (pipe.sadd if out else pipe.srem)(keys.OPTED_OUT, sender)
            pipe.incr(keys.MOD_VERSION)
            await pipe.execute()
        (self.opted_out.add if out else self.opted_out.discard)(sender)

    async def change_set(self, key: str, member: str, add: bool) -> bool:
        """Add to or remove from one of the mirrored sets (filters, quarantined rooms) and
        bump the version; whether it changed anything. The mirror reads it back next time."""
        async with self.redis.pipeline(transaction=True) as pipe:
            (pipe.sadd if add else pipe.srem)(key, member)
            pipe.incr(keys.MOD_VERSION)
            changed, _ = await pipe.execute()
        self._checked = 0.0  # this process sees its own change at once
        return bool(changed)

    async def refuse(self, root: MsgRef, senders: set[str]) -> None:
        """These authors said ``no`` to the thread's share: their messages in it stay home."""
        await self._change({keys.no_consent(str(root), s): self.flag_ttl_s for s in senders}, [])

    async def hide(self, room: str, root: MsgRef) -> None:
        await self._change({keys.hidden(room, str(root)): self.flag_ttl_s}, [])

    def silenced(self, room: str, sender: str) -> bool:
        """Whether nothing of ``sender``'s in ``room`` may ever cross (from the mirror): the
        room is paused or the sender opted out. Call ``fresh`` first."""
        return room in self.paused_rooms or sender in self.opted_out

    async def paused(self, room: str) -> bool:
        await self.fresh()
        return room in self.paused_rooms

    async def share(self, circle: str, root: MsgRef) -> None:
        thread = str(root)
        shared = keys.shared(circle, thread)
        await self._change({shared: self.flag_ttl_s}, [keys.held(circle, thread)])
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.shared_log(circle), {thread: time.time()})
            pipe.zremrangebyscore(keys.shared_log(circle), 0, time.time() - WEEK_S)
            await pipe.execute()

    async def shared(self, circle: str, thread: str) -> bool:
        """Whether ``thread`` (its root) is shared in ``circle`` now, as Redis has it (not the
        mirror, which another process's share reaches a moment later)."""
        until = await self.redis.zscore(keys.MOD_FLAGS, keys.shared(circle, thread))
        return until is not None and float(until) > time.time()

    async def unshare(self, circle: str, root: MsgRef) -> None:
        thread = str(root)
        held = keys.held(circle, thread)
        await self._change({held: self.flag_ttl_s}, [keys.shared(circle, thread)])

    async def shared_this_week(self, circle: str) -> int:
        return int(await self.redis.zcount(keys.shared_log(circle), time.time() - WEEK_S, "+inf"))

    async def block(self, room: str, hashes: list[str], ttl_s: int) -> None:
        """Block a sender (by their keyed hashes, one per circle) from reaching ``room``."""
        await self._change({keys.blocked(room, h): ttl_s for h in hashes}, [])

    async def unblock(self, room: str, hashes: list[str]) -> None:
        await self._change({}, [keys.blocked(room, h) for h in hashes])
