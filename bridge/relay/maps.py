"""Reads of the message map the relay needs: which origin a message of a room stands for, and
that origin's thread root. The map itself is written by the relay worker's commit script
(origin records) and the deliverers (copy records); see bridge.model.keys."""

from __future__ import annotations

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
    """Reads of the message map the relay needs: which origin a message stands for."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def canonical(self, room: str, message_id: str) -> tuple[MsgRef, MsgRef | None]:
        """The origin a message of ``room`` stands for (itself, or the origin of a copy), and
        that origin's thread root when it is known."""
        copy_of = cast(str | None, await self.redis.get(keys.copy(room, message_id)))
        ref = parse_ref(copy_of) or MsgRef(room=room, id=message_id)
        root = cast(str | None, await self.redis.hget(keys.origin(ref.room, ref.id), ".root"))
        return ref, parse_ref(root)
