"""The relay policy seam: may this message cross in this circle?

``all`` is decided here. ``moderated`` and ``tagged`` need the moderation issue's shared
threads; until then nothing crosses in those circles, which is the safe answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bridge.config import CircleConfig, RoomConfig
from bridge.envelope import Delivery, Envelope, MsgRef

if TYPE_CHECKING:
    from bridge.relay import Router


class Policy(Protocol):
    async def allows(
        self, circle: CircleConfig, room: RoomConfig, envelope: Envelope, root: MsgRef
    ) -> bool: ...

    async def event(self, router: Router, envelope: Envelope, room: RoomConfig) -> list[Delivery]:
        """A reaction or the bot joining a room: what it makes (a share, a notice)."""
        ...


class BasePolicy:
    async def allows(
        self, circle: CircleConfig, room: RoomConfig, envelope: Envelope, root: MsgRef
    ) -> bool:
        return circle.relay == "all"

    async def event(self, router: Router, envelope: Envelope, room: RoomConfig) -> list[Delivery]:
        return []
