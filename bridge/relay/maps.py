"""The message map: origin message <-> its copies, ids only, packed many to a small hash.

Per message, the map keeps a record in its room's table: who sent it, its thread root, the
``tl:media:`` key of its carried file (for retract) and, per room with a copy, that copy's
platform ids; per copy (or notice that takes replies), a pointer in the copy's room's table
to the origin. The tables are per (room, day), linear hash tables of listpack-encoded
buckets: bridge.relay.maplua describes the layout and holds the one Lua script that reads
and writes it, so that each lookup is one round trip (EVALSHA), newest day first.

The record is also the idempotency mark of its message and of its copies (issue 23): the
relay worker's commit script writes it only if its field is not there yet (a re-ingested
message makes no second plan; the day is the message's own, so the same message lands on
the same field), and a deliverer skips a copy whose room the record already names.

Expiry is exact per ``retention.message_map_days``: each record and pointer carries its end,
and a reader treats it as absent after it; the buckets themselves go a day later at most.

The previous layout (``tl:map:o:<room>:<id>`` hashes, ``tl:map:c:<room>:<id>`` strings,
``keys.origin`` and ``keys.copy``) is still read on a miss until its keys expire, and a
copy of a message recorded there is added there (an upgrade needs no migration).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any
from urllib.parse import unquote

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bridge.model import keys
from bridge.model.envelope import MsgRef
from bridge.relay import maplua

SEP, ROOM, IDS = "\x1f", "\x1d", "\x1e"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_SEPARATORS = re.compile("[\x1d-\x1f]")
_SPECIAL = re.compile("[%\x1d-\x1f]")
HASHED = 11  # ids this long or longer are stored under an 11-character hash
# listpack limits the map needs (Redis 6.2 names): records longer than the default 64 bytes
# and buckets of up to twice the average load (bridge.relay.maplua.LOAD)
COMPACT = {"hash-max-ziplist-value": 1024, "hash-max-ziplist-entries": 256}


def parse_ref(value: str | None) -> MsgRef | None:
    if not value:
        return None
    room, _, message_id = value.partition("/")
    return MsgRef(room=room, id=message_id) if message_id else None


def _b36(x: int) -> str:
    x = max(x, 0)
    out = _DIGITS[x % 36]
    while x >= 36:
        x //= 36
        out = _DIGITS[x % 36] + out
    return out


def placed(ts: float, now: float, keep_s: int) -> tuple[int, float]:
    """The day a message's record goes to, and the time its retention counts from: its own
    timestamp (so that the same message, handed in again, finds its field), unless that is
    implausible (in the future, or past half the retention), then now."""
    base = ts if now - keep_s / 2 < ts <= now + 300 else now
    return int(base) // maplua.DAY_S, base


def storable(value: str) -> bool:
    """An id the packed layout can hold: none of its separators in it (a platform that lies
    could otherwise write parts of a record of its choosing). Such an id is not mapped."""
    return _SEPARATORS.search(value) is None


def _escaped(value: str) -> str:
    """A sender, root or file key as a record part (any text; read back by ``unpack``)."""
    if _SPECIAL.search(value) is None:  # the common case, on the relay's hot path
        return value
    for c in ("%", SEP, ROOM, IDS):  # "%" first, so that unquote restores exactly
        value = value.replace(c, f"%{ord(c):02X}")
    return value


def field(message_id: str) -> str:
    """A message id as its table's field: itself when short, else the first 11 base64url
    characters of its SHA-1 (as bridge.relay.maplua's ``field``)."""
    if len(message_id) < HASHED:
        return message_id
    digest = hashlib.sha1(message_id.encode(), usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest)[:HASHED].decode()


def record_args(origin: MsgRef, record: dict[str, str], keep_s: int, ts: float) -> list[Any]:
    """The commit script's arguments for a new record (bridge.relay.worker): room, day,
    field, packed record, the field's bucket hash, now."""
    now = time.time()
    day, base = placed(ts, now, keep_s)
    name = field(origin.id)
    address = int(hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:7], 16)
    return [origin.room, day, name, packed(origin, record, day, base + keep_s), address, int(now)]


def packed(origin: MsgRef, record: dict[str, str], day: int, ends: float) -> str:
    """A new record, as the commit script writes it (see bridge.relay.maplua)."""
    root = record.get(".root", "")
    return SEP.join(
        (
            _b36(int(ends) - day * maplua.DAY_S),
            _escaped(record.get(".sender", "")),
            "" if root == f"{origin.room}/{origin.id}" else _escaped(root),
            _escaped(record.get(".media", "")),
            origin.id if len(origin.id) >= HASHED else "",
        )
    )


def unpack(origin: MsgRef, value: str) -> dict[str, str]:
    """A packed record as a dict: ``.sender``, ``.root``, ``.media`` when known and, per room
    with a copy, its ids as a JSON list (the shape callers read)."""
    parts = value.split(SEP)
    out: dict[str, str] = {}
    if parts[1]:
        out[".sender"] = unquote(parts[1])
    if parts[2] != "-":
        out[".root"] = unquote(parts[2]) or str(origin)
    if parts[3]:
        out[".media"] = unquote(parts[3])
    for part in parts[5:]:
        room, _, ids = part.partition(ROOM)
        out[room] = json.dumps(ids.split(IDS) if ids else [])
    return out


async def make_compact(redis: Redis) -> bool:
    """Raise Redis's listpack limits to what the map's buckets need, when it allows CONFIG
    (a managed Redis may not: the map works the same, with larger buckets)."""
    try:
        for name, want in COMPACT.items():
            found = await redis.config_get(name)
            if int(str(found.get(name) or 0)) < want:
                await redis.config_set(name, want)
    except Exception:  # refused or renamed: not needed for correctness
        return False
    return True


class MapReader:
    """Reads (and the few writes) of the message map the relay, its deliverers and the
    commands need; each one round trip."""

    def __init__(self, redis: Redis, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.clock = clock  # what "now" is for expiry (a test's injected clock)
        self.script = redis.register_script(maplua.SCRIPT)

    def _args(self, op: str, now: float | None = None) -> list[Any]:
        return [op, int(now if now is not None else self.clock())]

    async def canonical(self, room: str, message_id: str) -> tuple[MsgRef, MsgRef | None]:
        """The origin a message of ``room`` stands for (itself, or the origin of a copy), and
        that origin's thread root when it is known."""
        found = await self.script(
            args=[*self._args("canon"), room, message_id, keys.copy(room, message_id),
                  keys.origin("", "")[:-1]],
        )  # fmt: skip
        ref = parse_ref(str(found[0])) or MsgRef(room=room, id=message_id)
        record = self._decode(ref, found[1:])
        return ref, parse_ref(record.get(".root"))

    async def copy_of(self, room: str, message_id: str) -> MsgRef | None:
        """The origin a copy (or a notice that takes replies) in ``room`` stands for."""
        found = await self.script(
            args=[*self._args("copy"), room, message_id, keys.copy(room, message_id)]
        )
        return parse_ref(str(found) if found is not None else None)

    async def record(self, origin: MsgRef) -> dict[str, str]:
        """An origin's record: ``.sender``, ``.root``, ``.media`` and, per room with a copy,
        that copy's ids as a JSON list. Empty when the map does not know it."""
        found = await self.script(
            args=[*self._args("rec"), origin.room, origin.id, keys.origin(origin.room, origin.id)]
        )
        return self._decode(origin, found)

    async def expires(self, origin: MsgRef) -> float | None:
        """When the map forgets ``origin`` (epoch seconds); None when it does not know it."""
        found = await self.script(
            args=[*self._args("rec"), origin.room, origin.id, keys.origin(origin.room, origin.id)]
        )
        if str(found[0]) == "n":
            offset = str(found[1]).split(SEP, 1)[0]
            return int(found[2]) * maplua.DAY_S + int(offset, 36)
        ttl = int(await self.redis.ttl(keys.origin(origin.room, origin.id)))
        return time.time() + ttl if ttl > 0 else None

    @staticmethod
    def _decode(origin: MsgRef, found: list[Any]) -> dict[str, str]:
        if str(found[0]) == "n":
            return unpack(origin, str(found[1]))
        flat = [str(x) for x in found[1]]
        return dict(zip(flat[::2], flat[1::2], strict=True))

    async def copies(self, origin: MsgRef, room: str) -> list[str]:
        raw = (await self.record(origin)).get(room)
        return [str(x) for x in json.loads(raw)] if raw else []

    async def strip(self, origin: MsgRef, drop: Iterable[str] = ()) -> None:
        """Forget who sent ``origin``, its root and its file, and its copies in the rooms
        ``drop`` names; its other copies stay mapped."""
        await self.script(
            args=[*self._args("strip"), origin.room, origin.id,
                  keys.origin(origin.room, origin.id), *drop],
        )  # fmt: skip

    async def add_copies(
        self,
        pipe: Pipeline,
        origin: MsgRef,
        room: str,
        ids: list[str],
        *,
        keep_s: int,
        life_s: int | None = None,
        notice: bool = False,
        pointers: bool = True,
        unless: str = "",
    ) -> None:
        """Queue on ``pipe``: ``room``'s copies ``ids`` in ``origin``'s record (created if the
        map has none: a call-out's) and, unless not ``pointers``, a pointer per copy. A
        notice's copies get pointers only. ``keep_s`` is the retention; ``life_s`` a shorter
        life for a new record. Ids the layout cannot hold (``storable``) are left out. Nothing
        at all when the key ``unless`` exists (checked in the same step)."""
        ids = [i for i in ids if storable(i)]
        if not ids or not storable(origin.id):
            return
        await self.script(
            args=[*self._args("add"), origin.room, origin.id, room, IDS.join(ids),
                  keys.origin(origin.room, origin.id), keep_s, life_s or keep_s,
                  "1" if notice else "0" if pointers else "2", unless],
            client=pipe,
        )  # fmt: skip

    async def drop_copies(
        self, pipe: Pipeline, origin: MsgRef, room: str, ids: Iterable[str]
    ) -> None:
        """Queue on ``pipe``: forget ``room``'s copies of ``origin`` (deleted)."""
        ids = [i for i in ids if storable(i)]
        await self.script(
            args=[*self._args("del"), origin.room, origin.id, room, IDS.join(ids),
                  keys.origin(origin.room, origin.id), keys.copy(room, "")],
            client=pipe,
        )  # fmt: skip

    async def entries(self) -> AsyncIterator[tuple[MsgRef, dict[str, str] | MsgRef]]:
        """Every live entry of the map (a SCAN): an origin (its id) with its record, or a copy
        (its field, the id or its hash) with its origin. For a forgetme and for audits."""
        now = self.clock()
        async for names in _pages(self.redis, f"{keys.MAP_TABLES}*:*:*"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.hgetall(name)
                buckets = await pipe.execute()
            for name, fields in zip(names, buckets, strict=True):
                room, day, _b = name[len(keys.MAP_TABLES) :].rsplit(":", 2)
                for key, value in fields.items():
                    if not key:
                        continue  # the bucket's keeper (bridge.relay.maplua.INSERT)
                    parts = str(value).lstrip(">").split(SEP)
                    if int(day) * maplua.DAY_S + int(parts[0], 36) <= now:
                        continue  # expired: absent
                    if value.startswith(">"):
                        origin = parts[2]
                        yield MsgRef(room=room, id=str(key)), MsgRef(room=parts[1], id=origin)
                    else:
                        ref = MsgRef(room=room, id=parts[4] or str(key))
                        yield ref, unpack(ref, str(value))
        prefix = keys.origin("", "")[:-1]  # the previous layout: "tl:map:o:"
        async for names in _pages(self.redis, f"{prefix}*"):
            async with self.redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.hgetall(name)
                records = await pipe.execute()
            for name, record in zip(names, records, strict=True):
                room, _, message_id = name[len(prefix) :].partition(":")
                yield MsgRef(room=room, id=message_id), {str(k): str(v) for k, v in record.items()}

    async def origins_of(self, who: str) -> list[MsgRef]:
        """Every origin whose record names ``who`` as its sender (a forgetme)."""
        found = {
            ref
            async for ref, entry in self.entries()
            if isinstance(entry, dict) and entry.get(".sender") == who
        }
        return sorted(found, key=str)


async def _pages(redis: Redis, match: str) -> AsyncIterator[list[str]]:
    cursor = 0
    while True:
        cursor, page = await redis.scan(cursor, match=match, count=1000)
        if page:
            yield [str(n) for n in page]
        if int(cursor) == 0:
            return
