"""Attribution: who said it and where, by the circle's template (never hard-coded).

``{name}`` is the sender's display name, ``{room}`` the origin room's label, ``{platform}``
its platform, ``{pseudonym}`` a per-circle keyed hash of the sender's id; an anonymous
circle shows the room only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from bridge.config.models import CircleConfig, RoomConfig
from bridge.model.envelope import Sender


def pseudonym(key: bytes, circle: str, sender: str) -> str:
    """A stable pseudonym per person per circle; without the key, not linkable to the person."""
    digest = hmac.new(key, f"{circle}\0{sender}".encode(), hashlib.sha256).digest()
    return "anon-" + base64.b32encode(digest[:5]).decode().lower()


def attribution(
    circle: CircleConfig, room: RoomConfig, platform: str, sender: Sender, key: bytes | None
) -> str:
    if circle.anonymous:
        return room.label
    values = {
        "name": sender.name or "someone",
        "room": room.label,
        "platform": platform,
        "pseudonym": pseudonym(key, circle.id, sender.id) if key else "",
    }
    return circle.attribution.format_map(values)
