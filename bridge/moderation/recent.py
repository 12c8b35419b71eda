"""The recent-messages buffer: what ``share`` carries after the fact.

The Bot API cannot fetch history, so the messages of rooms in moderated and tagged circles
are kept for ``retention.recent_hours`` (ids and text; purged by ``retract``): each under
``tl:recent:<room>:<id>``, and each thread's members in order in a sorted set. Edits and
deletes keep the buffer true to the chat. Rooms whose circles are all ``all`` keep nothing:
there, everything crossed already.
"""

from __future__ import annotations

import contextlib
from typing import cast

from pydantic import ValidationError
from redis.asyncio import Redis

from bridge.config.models import Config, RoomConfig
from bridge.model import keys
from bridge.model.envelope import Envelope, MsgRef


class RecentBuffer:
    def __init__(self, config: Config, redis: Redis) -> None:
        self.redis = redis
        self.ttl_s = config.retention.recent_hours * 3600
        self.rooms = {  # rooms whose recent messages are kept for share after the fact
            room_id
            for circle in config.circles
            if circle.relay != "all"
            for room_id in circle.rooms
        }

    async def remember(self, envelope: Envelope, room: RoomConfig, root: MsgRef) -> None:
        """Keep a message of a moderated or tagged circle's room for a later ``share``."""
        if room.id not in self.rooms or self.ttl_s <= 0:
            return
        ref = MsgRef(room=room.id, id=envelope.message_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(
                keys.recent(room.id, envelope.message_id), envelope.model_dump_json(), ex=self.ttl_s
            )
            pipe.zadd(keys.thread(str(root)), {str(ref): envelope.received}, nx=True)
            pipe.expire(keys.thread(str(root)), self.ttl_s)
            await pipe.execute()

    async def revise(self, envelope: Envelope, room: RoomConfig) -> None:
        """An edit or a delete of a remembered message: keep the buffer true to the chat."""
        key = keys.recent(room.id, envelope.message_id)
        if envelope.kind == "delete":
            await self.redis.delete(key)
            return
        raw = cast(str | None, await self.redis.get(key))
        if raw is None:
            return
        kept = Envelope.model_validate_json(raw)
        edited = kept.model_copy(update={"text": envelope.text, "spans": envelope.spans})
        await self.redis.set(key, edited.model_dump_json(), keepttl=True)

    async def thread_so_far(self, root: MsgRef) -> list[Envelope]:
        """The remembered messages of a thread, in the order the bridge took them."""
        refs = [str(r) for r in await self.redis.zrange(keys.thread(str(root)), 0, -1)]
        out = []
        for ref in refs:
            room, _, message_id = ref.partition("/")
            raw = cast(str | None, await self.redis.get(keys.recent(room, message_id)))
            if raw is None:
                continue  # expired, retracted or deleted
            with contextlib.suppress(ValidationError):
                out.append(Envelope.model_validate_json(raw))
        return out
