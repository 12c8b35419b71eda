"""One chat's delivery queue: deletes and edits go ahead of new sends.

A platform lets a bot send only so much into one chat (Telegram: 20 a minute in a group), so
a flood queues minutes of sends there. A retract (deletes) or a corrected date (an edit) must
not wait behind it: a follow-up goes ahead of every queued send, except the send of its own
message (an edit or delete before its copy exists would find nothing to change, and the copy
would then go out unchanged). Follow-ups keep their order among themselves; sends keep theirs.
"""

from __future__ import annotations

import asyncio

from bridge.model.envelope import Delivery

Item = tuple[str, Delivery | None]  # the outbox entry id, and its delivery (None: unreadable)


def _urgent(item: Item) -> bool:
    delivery = item[1]
    return delivery is not None and delivery.action != "send"


class ChatQueue(asyncio.Queue[Item]):
    """``asyncio.Queue`` (put, get, task_done, join) with follow-ups placed early."""

    def _init(self, maxsize: int) -> None:
        self._items: list[Item] = []

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def _get(self) -> Item:
        return self._items.pop(0)

    def _put(self, item: Item) -> None:
        if not _urgent(item):
            self._items.append(item)
            return
        assert item[1] is not None
        origin = item[1].origin
        at = 0  # after the follow-ups already ahead, and after the send of its own message
        for i, (_, queued) in enumerate(self._items):
            if queued is not None and (queued.action != "send" or queued.origin == origin):
                at = i + 1
        self._items.insert(at, item)
