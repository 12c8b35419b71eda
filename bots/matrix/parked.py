"""Encrypted events the bot cannot decrypt yet: they wait in Redis until their key comes.

Only the event as received waits (ciphertext, ids), never a decrypted body. After each sync
the waiting events are tried again; one whose key never comes is given up after an hour,
with a log line naming its event id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any, cast

from aiohttp import ClientError
from nio import AsyncClient, LocalProtocolError, MegolmEvent
from nio.exceptions import EncryptionError
from redis.asyncio import Redis

from bridge.model import keys

log = logging.getLogger(__name__)

KEEP_S = 3600.0  # an event whose key never comes is given up after this


class Parked:
    def __init__(self, redis: Redis, bot_id: str) -> None:
        self.redis = redis
        self.bot_id = bot_id
        self.key = keys.bot_state(bot_id, "undecrypted")
        self.waiting = False  # whether any event waits (read from Redis at start)

    async def load(self) -> None:
        self.waiting = bool(await self.redis.llen(self.key))

    async def park(self, client: AsyncClient, room_id: str, event: MegolmEvent) -> None:
        """Keep the event for later, and ask its sender's devices for the key."""
        entry = {"room": room_id, "event": event.source, "at": time.time()}
        await self.redis.rpush(self.key, json.dumps(entry))
        self.waiting = True
        log.info("matrix bot %s: event %s cannot be decrypted yet; its key is asked for",
                 self.bot_id, event.event_id)  # fmt: skip
        with contextlib.suppress(LocalProtocolError, ClientError, TimeoutError, OSError):
            await client.request_room_key(event)

    async def decrypted(
        self, client: AsyncClient, chat_of: Callable[[str], str | None]
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """The waiting events that can be decrypted now, as (room id, chat, event), oldest
        first; they and those given up leave the list."""
        if not self.waiting:
            return []
        raw = cast(list[str], await self.redis.lrange(self.key, 0, -1))
        self.waiting = bool(raw)
        ready: list[tuple[str, str, dict[str, Any]]] = []
        for item in raw:
            entry = json.loads(item)
            room_id, source = entry["room"], entry["event"]
            chat = chat_of(room_id)
            event = MegolmEvent.from_dict(source)
            decrypted: Any = None
            if isinstance(event, MegolmEvent) and chat is not None:
                event.room_id = room_id
                with contextlib.suppress(EncryptionError):
                    decrypted = client.decrypt_event(event)
            if decrypted is not None and chat is not None:
                ready.append((room_id, chat, decrypted.source))
            elif time.time() - float(entry["at"]) < KEEP_S and chat is not None:
                continue
            else:
                log.warning("matrix bot %s: event %s could never be decrypted; not carried",
                            self.bot_id, source.get("event_id"))  # fmt: skip
            await self.redis.lrem(self.key, 1, item)
        return ready
