"""One chat's delivery queue: deletes and edits go ahead of new sends.

A platform lets a bot send only so much into one chat (Telegram: 20 a minute in a group), so
a flood queues minutes of sends there. A retract (deletes) or a corrected date (an edit) must
not wait behind it: a follow-up goes ahead of every queued send, except the send of its own
message (an edit or delete before its copy exists would find nothing to change, and the copy
would then go out unchanged). Follow-ups keep their order among themselves; sends keep theirs.
"""

from __future__ import annotations

import asyncio
import collections

from bridge.model.envelope import Delivery

Item = tuple[str, Delivery | None]  # the outbox entry id, and its delivery (None: unreadable)


def _urgent(item: Item) -> bool:
    delivery = item[1]
    return delivery is not None and delivery.action != "send"


class ChatQueue(asyncio.Queue[Item]):
    """``asyncio.Queue`` (put, get, task_done, join) with follow-ups placed early. It keeps
    the base class's deque (``_queue``): sends are appended and every get pops the left end
    in O(1); only a follow-up looks for its place."""

    _queue: collections.deque[Item]

    def _put(self, item: Item) -> None:
        if not _urgent(item):
            self._queue.append(item)
            return
        assert item[1] is not None
        origin = item[1].origin
        at = 0  # after the follow-ups already ahead, and after the send of its own message
        for i, (_, queued) in enumerate(self._queue):
            if queued is not None and (queued.action != "send" or queued.origin == origin):
                at = i + 1
        self._queue.insert(at, item)
