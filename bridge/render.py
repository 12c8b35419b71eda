"""Attribution: who said it and where, by the circle's template (never hard-coded)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from bridge.config import CircleConfig, RoomConfig
from bridge.envelope import Delivery, Sender


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


def footer(delivery: Delivery) -> str:
    """The line a copy carries about its language (adapters format it for their platform)."""
    if delivery.translated:
        return f"translated from {delivery.source_language}"
    if delivery.untranslated:
        return f"not translated (from {delivery.source_language})"
    return ""
