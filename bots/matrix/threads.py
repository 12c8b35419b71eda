"""Which Matrix thread a reply copy belongs in, and pins.

The bridge's thread is a root and every reply to it, transitively. In a Matrix room a reply
copy goes into the thread of the message it replies to: under that message when it is a
thread root there (a message with no relation: a root copy, or a member's own message), under
its root when it is itself in a thread (``m.thread``). When the replied-to message is a plain
reply (``m.in_reply_to`` only: the room never held the thread's root, or its people reply
without threads), the copy is a plain reply too. What the bot sent itself is remembered here
(a bounded map); anything else is read from the homeserver once, and a member's event that
claims a thread root the room does not hold (a forged one, of another room) is a plain reply:
the homeserver would refuse a relation across rooms.

A pin appends to the room's ``m.room.pinned_events`` list (nothing else in it changes); a bot
without the power to pin leaves the copy unpinned and says so in the log (``translocal check``
says it too).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from nio import AsyncClient, ErrorResponse, RoomGetEventResponse, RoomGetStateEventResponse

log = logging.getLogger(__name__)

KEPT = 10_000  # event ids whose thread is remembered
PINNED = "m.room.pinned_events"


def relation(root: str | None, reply_to: str) -> dict[str, Any]:
    """The ``m.relates_to`` of a reply copy: in the thread under ``root``, else a reply."""
    if root is None:
        return {"m.in_reply_to": {"event_id": reply_to}}
    return {"rel_type": "m.thread", "event_id": root, "is_falling_back": reply_to == root,
            "m.in_reply_to": {"event_id": reply_to}}  # fmt: skip


class Threads:
    """The thread roots of events in the bot's rooms: remembered when sent, else asked."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self._roots: OrderedDict[str, str | None] = OrderedDict()  # event -> its thread root

    def sent(self, event_id: str, content: dict[str, Any]) -> None:
        """Remember the thread of an event the bot just sent."""
        self._remember(event_id, _root_of(event_id, content))

    async def root_of(self, room_id: str, event_id: str) -> str | None:
        """The thread root a reply to ``event_id`` goes under, or None: a plain reply."""
        if event_id in self._roots:
            self._roots.move_to_end(event_id)
            return self._roots[event_id]
        response = await self.client.room_get_event(room_id, event_id)
        if not isinstance(response, RoomGetEventResponse):
            return None  # gone, or not readable: a plain reply (the copy is not held up)
        source = getattr(response.event, "source", {})
        content = source.get("content") if isinstance(source, dict) else None
        root = _root_of(event_id, content if isinstance(content, dict) else {})
        if root is not None and root != event_id:  # a member's claim: the root must be here
            there = await self.client.room_get_event(room_id, root)
            root = root if isinstance(there, RoomGetEventResponse) else None
        self._remember(event_id, root)
        return root

    def _remember(self, event_id: str, root: str | None) -> None:
        self._roots[event_id] = root
        if len(self._roots) > KEPT:
            self._roots.popitem(last=False)

    async def pin(self, room_id: str, event_id: str) -> None:
        """Append ``event_id`` to the room's pinned events; without the power, log it."""
        found = await self.client.room_get_state_event(room_id, PINNED)
        pinned: list[Any] = []
        if isinstance(found, RoomGetStateEventResponse) and isinstance(found.content, dict):
            listed = found.content.get("pinned")
            pinned = [p for p in listed if isinstance(p, str)] if isinstance(listed, list) else []
        if event_id in pinned:
            return
        response = await self.client.room_put_state(room_id, PINNED,
                                                    {"pinned": [*pinned, event_id]})  # fmt: skip
        if isinstance(response, ErrorResponse):
            log.warning("matrix: could not pin in room %s (%s); raise the bot's power level "
                        "to pin call-outs", room_id, response.status_code)  # fmt: skip


def _root_of(event_id: str, content: dict[str, Any]) -> str | None:
    """An event's thread root: its m.thread root; itself when it has no relation (a root);
    None for a plain reply (or an edit, a reaction: nothing to thread under)."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict):
        return event_id
    root = relates.get("event_id")
    if relates.get("rel_type") == "m.thread" and isinstance(root, str) and root:
        return root
    return None
