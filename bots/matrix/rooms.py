"""Which Matrix room each configured chat is now: aliases resolved, upgrades followed.

The relay knows rooms by the configured string (``rooms[].chat``: an id or an alias), so
envelopes carry that string; this map turns it into the room id of today and back. When a
room is upgraded (``m.room.tombstone``), its replacement becomes the room of the same chat,
and the old room keeps pointing at the chat (its late events still belong there). Both
directions live in Redis (``rooms``: chat -> room id; ``followed``: old room id -> chat),
so a restart keeps following.
"""

from __future__ import annotations

from typing import Any, cast

from redis.asyncio import Redis

from bridge.model import keys

_LEGACY_VERSIONS = frozenset(str(v) for v in range(1, 12))  # creators hold no special power


def creators(create: dict[str, Any]) -> set[str]:
    """The users a room's ``m.room.create`` event makes all-powerful: from room version 12
    on, its sender and ``additional_creators``, above every power level; none before."""
    found = create.get("content")
    content = found if isinstance(found, dict) else {}
    if str(content.get("room_version", "1")) in _LEGACY_VERSIONS:
        return set()
    extra = content.get("additional_creators")
    users = {create.get("sender"), *(extra if isinstance(extra, list) else [])}
    return {u for u in users if isinstance(u, str)}


class RoomMap:
    def __init__(self, redis: Redis, bot_id: str, chats: list[str]) -> None:
        self.redis = redis
        self.rooms_key = keys.bot_state(bot_id, "rooms")
        self.followed_key = keys.bot_state(bot_id, "followed")
        self.chats = list(dict.fromkeys(chats))
        self._room: dict[str, str] = {c: c for c in self.chats if c.startswith("!")}
        self._chat: dict[str, str] = {c: c for c in self.chats if c.startswith("!")}

    async def load(self) -> None:
        rooms = cast(dict[str, str], await self.redis.hgetall(self.rooms_key))
        followed = cast(dict[str, str], await self.redis.hgetall(self.followed_key))
        for old, chat in followed.items():
            if chat in self.chats:
                self._chat[old] = chat
        for chat, room in rooms.items():
            if chat in self.chats:
                self._room[chat] = room
                self._chat[room] = chat

    def serve(self, chats: list[str]) -> None:
        """The chats served from now on (the config's and the linked ones): a new room id
        maps to itself; a chat no longer served maps no more, so its events are not read."""
        self.chats = list(dict.fromkeys(chats))
        kept = set(self.chats)
        self._room = {c: r for c, r in self._room.items() if c in kept}
        self._chat = {r: c for r, c in self._chat.items() if c in kept}
        for chat in self.chats:
            if chat.startswith("!"):
                self._room.setdefault(chat, chat)
                self._chat.setdefault(chat, chat)

    def room(self, chat: str) -> str | None:
        """The room id a configured chat is now, or None while an alias is unresolved."""
        return self._room.get(chat)

    def chat(self, room_id: str) -> str | None:
        """The configured chat a room id belongs to (itself, via an alias, or upgraded)."""
        return self._chat.get(room_id)

    def unresolved(self) -> list[str]:
        return [c for c in self.chats if c not in self._room]

    async def resolved(self, alias: str, room_id: str) -> None:
        self._room[alias] = room_id
        self._chat[room_id] = alias
        await self.redis.hset(self.rooms_key, alias, room_id)

    def expect(self, chat: str, room_id: str) -> None:
        """``room_id`` belongs to ``chat`` (a replacement not joined yet: accept its invite)."""
        self._chat.setdefault(room_id, chat)

    async def moved(self, chat: str, old: str, new: str) -> None:
        """``chat`` is now room ``new``; events from ``old`` still belong to it."""
        self._room[chat] = new
        self._chat[new] = chat
        self._chat[old] = chat
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.rooms_key, chat, new)
            pipe.hset(self.followed_key, old, chat)
            await pipe.execute()
