"""Rooms linked from chat, laid over the config file's (issue 18, docs/adding-a-city.md).

A linked room is a ``RoomConfig`` (id, bot, chat, language, label, timezone) plus the circle
it joined, who linked it and when. Redis keeps them (``bridge.infra.links``); each process
lays them over its ``Config`` with ``merge``, in place, so that every part of the run (the
router, the moderation mirror, the call-outs, the bots) sees the same rooms, and counts the
change in ``generation(config)``: a part that worked something out from the rooms redoes it
when the generation moved.

The config file stays authoritative: a linked room whose id, or whose bot and chat, the file
now has too is not laid over it (the file's room takes over; ``merge`` says so, and the
caller drops the record). A linked room whose circle or bot the file no longer has is left
out the same way.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from pydantic import Field

from bridge.config.models import Config
from bridge.model.settings import CALLOUT_WORDS, Identifier, Model, RoomConfig

log = logging.getLogger(__name__)


class LinkedRoom(Model):
    room: RoomConfig
    circle: Identifier
    linked_by: str = Field(max_length=300)  # "<platform>:<user id>"
    linked_at: float  # Unix seconds


def generation(config: Config) -> int:
    """How many times the linked rooms changed in this process: redo what depends on rooms."""
    return config._generation


def linked(config: Config) -> dict[str, LinkedRoom]:
    """The linked rooms laid over ``config`` now, by room id."""
    return dict(config._linked)


def is_linked(config: Config, room_id: str) -> bool:
    return room_id in config._linked


def file_rooms(config: Config) -> list[RoomConfig]:
    """The config file's own rooms."""
    return [r for r in config.rooms if r.id not in config._linked]


def clash(config: Config, found: LinkedRoom) -> str | None:
    """Why ``found`` cannot be laid over ``config`` (None: it can): the file's rooms win."""
    room = found.room
    for mine in file_rooms(config):
        if mine.id == room.id:
            return f"the config file has a room {room.id!r}"
        if mine.bot == room.bot and mine.chat == room.chat:
            return f"the config file has its chat, as room {mine.id!r}"
    circle = next((c for c in config.circles if c.id == found.circle), None)
    if circle is None:
        return f"its circle {found.circle!r} is not in the config file"
    if not any(b.id == room.bot for b in config.bots):
        return f"its bot {room.bot!r} is not in the config file"
    return None


def merge(config: Config, found: list[LinkedRoom]) -> list[str]:
    """Lay ``found`` over ``config`` in place (replacing the linked rooms laid before) and
    return the ids of those left out because the file's rooms win (logged once here)."""
    wanted: dict[str, LinkedRoom] = {}
    dropped: list[str] = []
    for item in sorted(found, key=lambda f: f.linked_at):
        why = clash(config, item)
        if why is None and any(
            w.room.bot == item.room.bot and w.room.chat == item.room.chat for w in wanted.values()
        ):
            why = "another linked room has its chat"
        if why is not None or item.room.id in wanted:
            log.warning("linked room %s is left out: %s", item.room.id, why or "a duplicate id")
            dropped.append(item.room.id)
            continue
        wanted[item.room.id] = item
    if _placed(wanted) == _placed(config._linked):
        return dropped
    gone = set(config._linked)
    config.rooms[:] = [r for r in config.rooms if r.id not in gone] + [
        w.room for w in wanted.values()
    ]
    for circle in config.circles:
        circle.rooms[:] = [r for r in circle.rooms if r not in gone] + [
            w.room.id for w in wanted.values() if w.circle == circle.id
        ]
    config._linked = wanted  # bridge.config.models.Config: ``_linked``, ``_generation``
    config._generation += 1
    return dropped


def _placed(rooms: dict[str, LinkedRoom]) -> dict[str, tuple[RoomConfig, str]]:
    return {k: (v.room, v.circle) for k, v in rooms.items()}


def room_id_for(label: str) -> str:
    """The id a linked room gets from its label: lower-case ASCII letters, digits and dashes
    ("São Paulo" -> "sao-paulo"); empty when the label has none of them."""
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    found = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:64].strip("-")
    return f"{found}-room" if found in CALLOUT_WORDS else found  # "Local" could not be named
