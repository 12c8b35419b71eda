"""The bridge's own notices: answers in a room, and operational notices for the operator.

A notice is a delivery like a copy, marked ``notice`` (no message map, no notice of its own
failure). Operational notices go to ``ops_room``, else to the room concerned; they never
carry a message body.
"""

from __future__ import annotations

import uuid

from bridge.config.models import Config, RoomConfig
from bridge.model.envelope import Delivery, MsgRef


def notice_in(
    room: RoomConfig, text: str, *, key: str | None = None, reply_to: str | None = None
) -> Delivery:
    """The bridge's own notice in ``room`` (a reply to ``reply_to``, a message id there)."""
    return Delivery.to(
        room,
        key=key or f"notice:{uuid.uuid4().hex}",
        action="send",
        origin=MsgRef(room=room.id, id="notice"),
        reply_to=MsgRef(room=room.id, id=reply_to) if reply_to else None,
        text=text,
        language=room.language,
        notice=True,
    )


def notice(config: Config, text: str, fallback_room: str, key: str | None = None) -> Delivery:
    """An operational notice for ops_room (else ``fallback_room``). Never a message body."""
    return notice_in(config.room(config.ops_room or fallback_room), text, key=key)
