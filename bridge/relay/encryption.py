"""End-to-end-encrypted threads stay among encrypted rooms (design.md, "Safety").

A message from an encrypted room reaches only rooms its bots have seen encrypted (the adapters
keep ``keys.bot_state(bot, "encrypted")``), unless its circle sets ``allow_unencrypted: true``;
the origin's moderators (or ops_room) are told once a day per thread where it was not carried.
"""

from __future__ import annotations

from redis.asyncio import Redis

from bridge.config.models import CircleConfig, Config, RoomConfig
from bridge.model import keys
from bridge.model.envelope import Delivery, Envelope, MsgRef
from bridge.model.i18n import Listing, _
from bridge.relay.notices import localize, notice
from bridge.relay.translate import Translator

Targets = dict[str, tuple[RoomConfig, str, CircleConfig]]


class Encryption:
    def __init__(self, config: Config, redis: Redis, may_encrypt: set[str]) -> None:
        self.config = config
        self.redis = redis
        self.may_encrypt = may_encrypt  # bots whose rooms can be end-to-end encrypted

    async def withhold(self, envelope: Envelope, targets: Targets) -> list[RoomConfig]:
        """Takes out of ``targets`` the rooms an encrypted message may not reach: any room not
        known to be encrypted, unless the circle allows unencrypted ones. Returns them."""
        if not envelope.encrypted:
            return []
        held = []
        for room_id, (target, _credit, circle) in list(targets.items()):
            if circle.allow_unencrypted or await self.encrypted(target):
                continue
            del targets[room_id]
            held.append(target)
        return held

    async def encrypted(self, room: RoomConfig) -> bool:
        """Whether the room's bot has seen it encrypted (adapters keep the set)."""
        if room.bot not in self.may_encrypt:
            return False
        found = await self.redis.sismember(keys.bot_state(room.bot, "encrypted"), room.chat)
        return bool(found)

    async def notice(
        self, room: RoomConfig, root: MsgRef, held: list[RoomConfig], translator: Translator
    ) -> list[Delivery]:
        """Say once per thread (a day) why an encrypted thread did not reach some rooms."""
        if not await self.redis.set(keys.notified(f"unencrypted:{root}"), 1, nx=True, ex=86400):
            return []
        text = _(
            "A thread from {room}, an end-to-end-encrypted room, was not carried to {rooms}: "
            "they are not encrypted, and the circle does not set {setting}.",
            room=room.label,
            rooms=Listing(tuple(r.label for r in held)),
            setting="allow_unencrypted: true",
        )
        where = self.config.room(self.config.ops_room or room.id)
        shown = await localize(text, where.language, translator)
        return [notice(self.config, shown, room.id, key=f"notice:unencrypted:{root}")]
