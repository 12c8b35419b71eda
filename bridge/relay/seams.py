"""The relay's two seams: the policy (may this message cross?) and the actions (commands,
reactions and joins, which act and answer instead of crossing); and ``RouterView``, the part
of the router that actions may use.

``bridge.moderation`` implements ``Policy`` (shared threads, pauses, opt-outs);
``bridge.commands`` implements ``Actions``. The relay knows them only as these protocols, so
that it imports neither. ``BasePolicy`` and ``NoActions`` are the bare rule, for benchmarks
and tests of the relay alone: ``all`` circles cross, the others do not; commands do nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

from bridge.config.models import CircleConfig, Config, RoomConfig
from bridge.model.envelope import Delivery, Envelope, MsgRef
from bridge.model.i18n import Param
from bridge.relay.translate import Translator


@dataclass(frozen=True)
class Gate:
    """What a message may do: the circles it crosses in, the rooms it may reach."""

    circles: frozenset[str]
    rooms: frozenset[str]


class Policy(Protocol):
    async def gate(
        self,
        envelope: Envelope,
        room: RoomConfig,
        root: MsgRef,
        circles: list[CircleConfig],
        rooms: set[str],
    ) -> Gate:
        """Of ``circles`` (the origin room's) and ``rooms`` (theirs), which let it cross."""
        ...

    async def remember(self, envelope: Envelope, room: RoomConfig, root: MsgRef) -> None:
        """A new message, whatever crossed: kept if a later share may need it."""

    async def revise(self, envelope: Envelope, room: RoomConfig) -> None:
        """An edit or a delete of a message."""

    async def screen(
        self,
        envelope: Envelope,
        room: RoomConfig,
        deliveries: list[Delivery],
        rooms: Mapping[str, RoomConfig],
        prefixes: Mapping[str, str],
    ) -> list[Delivery]:
        """The new copies as they may go: a copy a target room's word filter holds is
        replaced by a notice to its moderators (``prefixes``: each bot's command prefix)."""
        ...


class MapView(Protocol):
    """The message map, as bridge.relay.maps.MapReader reads it (ids only)."""

    async def canonical(self, room: str, message_id: str) -> tuple[MsgRef, MsgRef | None]: ...
    async def copy_of(self, room: str, message_id: str) -> MsgRef | None: ...
    async def record(self, origin: MsgRef) -> dict[str, str]: ...
    async def strip(self, origin: MsgRef) -> None: ...


class RouterView(Protocol):
    """What command handlers use of the relay's router."""

    @property
    def config(self) -> Config: ...
    @property
    def redis(self) -> Redis: ...
    @property
    def rooms(self) -> Mapping[str, RoomConfig]: ...
    @property
    def maps(self) -> MapView: ...
    @property
    def platform_of(self) -> Mapping[str, str]: ...
    @property
    def translator(self) -> Translator: ...

    def room_of(self, envelope: Envelope) -> RoomConfig | None: ...
    def circles_of_room(self, room_id: str) -> list[CircleConfig]: ...
    def command_prefix(self, room: RoomConfig) -> str: ...
    async def notice_to(self, room: RoomConfig, text: Param, answering: Envelope) -> Delivery: ...
    async def replan(self, envelope: Envelope, room: RoomConfig) -> list[Delivery]: ...


class Actions(Protocol):
    async def command(
        self, router: RouterView, envelope: Envelope, room: RoomConfig
    ) -> list[Delivery]:
        """A command envelope: what it makes (answers and effects)."""
        ...

    async def event(
        self, router: RouterView, envelope: Envelope, room: RoomConfig
    ) -> list[Delivery]:
        """A reaction, or the bot joining a room: what it makes (a share, a welcome)."""
        ...


class BasePolicy:
    async def gate(
        self,
        envelope: Envelope,
        room: RoomConfig,
        root: MsgRef,
        circles: list[CircleConfig],
        rooms: set[str],
    ) -> Gate:
        return Gate(frozenset(c.id for c in circles if c.relay == "all"), frozenset(rooms))

    async def remember(self, envelope: Envelope, room: RoomConfig, root: MsgRef) -> None:
        return None

    async def revise(self, envelope: Envelope, room: RoomConfig) -> None:
        return None

    async def screen(
        self,
        envelope: Envelope,
        room: RoomConfig,
        deliveries: list[Delivery],
        rooms: Mapping[str, RoomConfig],
        prefixes: Mapping[str, str],
    ) -> list[Delivery]:
        return deliveries


class NoActions:
    async def command(
        self, router: RouterView, envelope: Envelope, room: RoomConfig
    ) -> list[Delivery]:
        return []

    async def event(
        self, router: RouterView, envelope: Envelope, room: RoomConfig
    ) -> list[Delivery]:
        return []
