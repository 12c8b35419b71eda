"""The moderation policy: which threads cross, decided per circle from the moderation state.

A thread is a root message and every reply to it or to a reply in it (the relay tracks the
root of every message in the message map). Per circle:

- ``all``: everything crosses, except threads a moderator held back (``unshare``);
- ``moderated``: only threads a moderator shared (``share``, or the circle's reaction);
- ``tagged``: a message carrying one of the circle's tags shares its thread from there on.

Over that, per room and person: a paused room sends and receives nothing; a thread hidden
from a room no longer reaches it; an opted-out person's messages never cross; a sender a
room blocked (by a keyed hash, ``sender_hash``) no longer reaches that room. It implements
the relay's ``Policy`` seam; the commands that change the state are in ``bridge.commands``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from redis.asyncio import Redis

from bridge.config.linked import generation
from bridge.config.models import CircleConfig, Config, RoomConfig
from bridge.model import keys
from bridge.model.envelope import Delivery, Envelope, MsgRef
from bridge.moderation.filters import FilterSet, Holds, screen
from bridge.moderation.recent import RecentBuffer
from bridge.moderation.state import ModerationState
from bridge.relay.attribution import pseudonym
from bridge.relay.seams import Gate

_TAG = re.compile(r"#(\w+)")


class ModerationPolicy:
    def __init__(self, config: Config, redis: Redis) -> None:
        self.config = config
        self.state = ModerationState(redis, config.retention.message_map_days * 86400)
        self.recent = RecentBuffer(config, redis)
        self.filters = FilterSet(config, self.state)  # word filters, mirrored with the state
        self.holds = Holds(config, redis)
        self._key: bytes | None = None  # blocks' hashing key (sender_hash)
        self._hashes: dict[tuple[str, str], str] = {}  # (circle, sender) -> hash, worked out once

    async def gate(
        self,
        envelope: Envelope,
        room: RoomConfig,
        root: MsgRef,
        circles: list[CircleConfig],
        rooms: set[str],
    ) -> Gate:
        """Decided from the in-process mirror of the moderation state: no round trip."""
        if not circles:
            return Gate(frozenset(), frozenset())
        state = self.state
        await state.fresh()
        if state.silenced(room.id, envelope.sender.id):
            return Gate(frozenset(), frozenset())
        if room.id in state.quarantined:  # two other rooms' moderators hold it (quarantine)
            return Gate(frozenset(), frozenset())
        thread = str(root)
        if state.flags and keys.no_consent(thread, envelope.sender.id) in state.flags:
            return Gate(frozenset(), frozenset())  # its author answered no (consent_minutes)
        allowed = set()
        for circle in circles:
            if keys.held(circle.id, thread) in state.flags:
                continue
            if circle.relay == "all" or keys.shared(circle.id, thread) in state.flags:
                allowed.add(circle.id)
            elif circle.relay == "tagged" and _tagged(circle, envelope):
                await state.share(circle.id, root)  # the thread crosses with it from here on
                allowed.add(circle.id)
        open_rooms = frozenset(
            t
            for t in rooms
            if t not in state.paused_rooms and keys.hidden(t, thread) not in state.flags
        )
        blocked = await self.blocked_rooms(envelope.sender.id, circles, open_rooms)  # block
        return Gate(frozenset(allowed), open_rooms - blocked)

    # --- blocks (bridge.commands.protect): a sender by a per-circle keyed hash, per room ---

    async def sender_hash(self, circle: str, sender: str) -> str:
        """The keyed hash a block names a sender by in ``circle`` (their pseudonym there):
        stable across name changes, not linkable to the person without the key. The key is
        the config's pseudonym_key, else one made once for this Redis (``keys.BLOCK_KEY``)."""
        found = self._hashes.get((circle, sender))
        if found is None:
            if self._key is None:
                configured = self.config.pseudonym_key
                if configured is not None:
                    self._key = configured.get_secret_value().encode()
                else:
                    await self.state.redis.set(keys.BLOCK_KEY, secrets.token_hex(32), nx=True)
                    self._key = str(await self.state.redis.get(keys.BLOCK_KEY)).encode()
            if len(self._hashes) >= 10_000:
                self._hashes.clear()
            found = self._hashes[(circle, sender)] = pseudonym(self._key, circle, sender)
        return found

    async def blocked_rooms(
        self, sender: str, circles: list[CircleConfig], rooms: frozenset[str]
    ) -> frozenset[str]:
        """Of ``rooms``, those that blocked ``sender``: from the mirror, no round trip."""
        flags = self.state.flags
        out = set()
        for circle in circles:
            hashed = await self.sender_hash(circle.id, sender)
            out |= {t for t in circle.rooms if t in rooms and keys.blocked(t, hashed) in flags}
        return frozenset(out)

    async def remember(self, envelope: Envelope, room: RoomConfig, root: MsgRef) -> None:
        """Kept for a later share, unless its author opted out or its room is paused: then
        it may never cross, so the bridge keeps none of it."""
        await self.state.fresh()
        if self.state.silenced(room.id, envelope.sender.id):
            return
        await self.recent.remember(envelope, room, root)

    async def revise(self, envelope: Envelope, room: RoomConfig) -> None:
        await self.recent.revise(envelope, room)

    async def screen(
        self,
        envelope: Envelope,
        room: RoomConfig,
        deliveries: list[Delivery],
        rooms: Mapping[str, RoomConfig],
        prefixes: Mapping[str, str],
    ) -> list[Delivery]:
        """New copies a room's word filter matches are held (bridge.moderation.filters)."""
        await self.state.fresh()
        return await screen(self.filters, self.holds, envelope, room, deliveries, rooms, prefixes)


class CarryCheck:
    """Whether a message could cross at all, asked by a bot before it downloads a file: a
    file is fetched (up to 20 MB, from any member) only when its message may reach another
    room. No: the room is paused, or sends nothing (``send: false``, in no circle with a
    room that receives), or the sender opted out. Anything else may still cross (a share
    later replays the thread), so the file is fetched."""

    def __init__(self, config: Config, redis: Redis) -> None:
        self.config = config
        self.state = ModerationState(redis, config.retention.message_map_days * 86400)
        self._derive()

    def _derive(self) -> None:
        """The rooms that may send somewhere: again after rooms were linked or unlinked."""
        config = self.config
        self._generation = generation(config)
        receiving = {
            room.id: {other for c in config.circles if room.id in c.rooms for other in c.rooms
                      if other != room.id and config.room(other).receive}
            for room in config.rooms
        }  # fmt: skip
        self._rooms: dict[tuple[str, str], list[str]] = {}
        for room in config.rooms:
            if room.send and receiving[room.id]:
                self._rooms.setdefault((room.bot, room.chat), []).append(room.id)

    async def __call__(self, bot: str, chat: str, sender: str) -> bool:
        if self._generation != generation(self.config):
            self._derive()
        rooms = self._rooms.get((bot, chat))
        if not rooms:
            return False
        await self.state.fresh()
        return any(not self.state.silenced(room, sender) for room in rooms)


def _tagged(circle: CircleConfig, envelope: Envelope) -> bool:
    return bool({t.lower() for t in _TAG.findall(envelope.text)} & set(circle.tags))
