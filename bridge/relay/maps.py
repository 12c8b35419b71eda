"""The message map: origin message <-> its copies, ids only, one small key per message.

- ``tl:map:o:<room>:<id>`` (``keys.origin``), a hash per origin message: ``.sender`` (who
  wrote it), ``.root`` (its thread root, ``<room>/<id>``), ``.ts``, ``.media`` (the
  ``tl:media:`` key of its carried file, for retract) and, per room with a copy, that copy's
  platform ids as a JSON list. The relay worker's commit script writes the dotted fields with
  the inbox entry; each deliverer adds its room's field once the copy is sent.
- ``tl:map:c:<room>:<id>`` (``keys.copy``): the origin ``<room>/<id>`` a copy (or a notice
  that takes replies, such as a held copy's) stands for.

The record is also the idempotency mark of its message and of its copies (issue 23's Redis
bytes): the relay worker writes its first field HSETNX, so a re-ingested message makes no
second plan, and a deliverer skips a copy whose room already has its field. Neither keeps a
``keys.seen`` or ``keys.sent`` key of its own.

Every key expires after ``retention.message_map_days``. A bucketed layout (records packed in
small hashes) measured 248 bytes a message instead of ~1,160, but cost the relay 30% of its
throughput in bench/relay.py (each lookup walked chains of buckets inside Redis), so it was not
kept: see docs/high-availability.md, "Redis memory".
"""

from __future__ import annotations

import json
from typing import cast

from redis.asyncio import Redis

from bridge.model import keys
from bridge.model.envelope import MsgRef


def parse_ref(value: str | None) -> MsgRef | None:
    if not value:
        return None
    room, _, message_id = value.partition("/")
    return MsgRef(room=room, id=message_id) if message_id else None


class MapReader:
    """Reads of the message map the relay, its deliverers and the commands need."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def canonical(self, room: str, message_id: str) -> tuple[MsgRef, MsgRef | None]:
        """The origin a message of ``room`` stands for (itself, or the origin of a copy), and
        that origin's thread root when it is known."""
        ref = await self.copy_of(room, message_id) or MsgRef(room=room, id=message_id)
        root = cast(str | None, await self.redis.hget(keys.origin(ref.room, ref.id), ".root"))
        return ref, parse_ref(root)

    async def copy_of(self, room: str, message_id: str) -> MsgRef | None:
        """The origin a copy (or a notice that takes replies) in ``room`` stands for."""
        return parse_ref(cast(str | None, await self.redis.get(keys.copy(room, message_id))))

    async def record(self, origin: MsgRef) -> dict[str, str]:
        """An origin's record: ``.sender``, ``.root``, ``.ts``, ``.media`` and, per room with a
        copy, that copy's ids as a JSON list. Empty when the map does not know it."""
        found = await self.redis.hgetall(keys.origin(origin.room, origin.id))
        return {str(k): str(v) for k, v in found.items()}

    async def copies(self, origin: MsgRef, room: str) -> list[str]:
        raw = cast(str | None, await self.redis.hget(keys.origin(origin.room, origin.id), room))
        return [str(x) for x in json.loads(raw)] if raw else []

    async def strip(self, origin: MsgRef) -> None:
        """Forget who sent ``origin``, its root and its file; its copies stay mapped."""
        await self.redis.hdel(keys.origin(origin.room, origin.id), ".sender", ".root", ".media")
