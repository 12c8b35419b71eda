"""The relay policy seam: may this message cross in this circle?

``all`` is decided here. ``moderated`` and ``tagged`` need the moderation issue's shared
threads; until then nothing crosses in those circles, which is the safe answer.
"""

from __future__ import annotations

from typing import Protocol

from bridge.config import CircleConfig, RoomConfig
from bridge.envelope import Envelope, MsgRef


class Policy(Protocol):
    async def allows(
        self, circle: CircleConfig, room: RoomConfig, envelope: Envelope, root: MsgRef
    ) -> bool: ...


class BasePolicy:
    async def allows(
        self, circle: CircleConfig, room: RoomConfig, envelope: Envelope, root: MsgRef
    ) -> bool:
        return circle.relay == "all"
