"""Attribution: who said it and where, by the circle's template (never hard-coded); and the
bridge's own operational notices."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from bridge.config.models import CircleConfig, Config, RoomConfig
from bridge.model.envelope import Delivery, MsgRef, Sender


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


def notice_in(
    room: RoomConfig, text: str, *, key: str | None = None, reply_to: str | None = None
) -> Delivery:
    """The bridge's own notice in ``room`` (a reply to ``reply_to``, a message id there)."""
    return Delivery(
        key=key or f"notice:{uuid.uuid4().hex}",
        action="send",
        bot=room.bot,
        room=room.id,
        chat=room.chat,
        topic=room.topic,
        origin=MsgRef(room=room.id, id="notice"),
        reply_to=MsgRef(room=room.id, id=reply_to) if reply_to else None,
        text=text,
        language=room.language,
        notice=True,
    )


def notice(config: Config, text: str, fallback_room: str, key: str | None = None) -> Delivery:
    """An operational notice for ops_room (else ``fallback_room``). Never a message body."""
    return notice_in(config.room(config.ops_room or fallback_room), text, key=key)
