"""Limits on one member and one room: token buckets on what would cross.

One message that crosses costs one copy per linked room and one paid translation per
language, so one member (or one compromised room) must not be able to flood the network.
Each message that would cross takes a token from its sender's bucket in that room
(``limits.per_sender_per_minute``, default 20) and from its room's bucket
(``limits.per_room_per_minute``, default 60). A bucket holds a minute's worth and refills
evenly. Over either limit, the message is held: it stays in its room, crosses nowhere, and
the room's moderators get one notice (not one per message; never the text) the first time;
the next notice comes only after the bucket has filled up again (a quiet minute).

Where the state lives: in the process, in the relay worker that owns the room's inbox shard.
Every message of a room goes to one shard (``hash(bot, chat)``), and one worker owns a shard
at a time (a lease), so the owner sees all of a room's messages and needs no round trip to
Redis per message (the relay's throughput is the budget here). What that gives up: a worker
that takes a shard over starts with full buckets (at most one more minute's worth after a
crash or rebalance), and a member's buckets in two rooms are counted apart (each room's own
bucket still caps what that room sends). Only messages that would cross take tokens: a
message that stays home costs the network nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bridge.config.models import LimitsConfig
from bridge.model.i18n import Message, _

MAX_BUCKETS = 100_000  # idle full buckets are forgotten beyond this many


@dataclass(slots=True)
class Bucket:
    tokens: float
    at: float
    noticed: bool = False  # the moderators were told of this burst

    def hold(self, who: str, limit: int) -> Held:
        """A message held by this bucket; the first of a burst is the one to tell of."""
        notify = not self.noticed
        self.noticed = True
        return Held(who, limit, notify)

    def refill(self, now: float, capacity: int) -> None:
        self.tokens = min(float(capacity), self.tokens + (now - self.at) * capacity / 60.0)
        self.at = now
        if self.tokens >= capacity:
            self.noticed = False  # a quiet minute ends the burst: the next one is told again


@dataclass(frozen=True)
class Held:
    """A message over a limit: ``who`` says which (``sender`` or ``room``); ``notify`` is
    True for the first held message of a burst, the one the moderators hear of."""

    who: str
    limit: int
    notify: bool


class Limits:
    def __init__(self, config: LimitsConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_sender = config.per_sender_per_minute
        self.per_room = config.per_room_per_minute
        self.clock = clock  # tests inject a frozen one
        self._buckets: dict[tuple[str, str], Bucket] = {}

    def admit(self, room: str, sender: str) -> Held | None:
        """Take a token from the sender's and the room's buckets: None when the message may
        cross; else what held it (no token is taken then)."""
        now = self.clock()
        if len(self._buckets) > MAX_BUCKETS:
            self._forget(now)
        mine = self._bucket((room, sender), now, self.per_sender)
        if mine.tokens < 1.0:
            return mine.hold("sender", self.per_sender)
        theirs = self._bucket((room, ""), now, self.per_room)
        if theirs.tokens < 1.0:
            return theirs.hold("room", self.per_room)
        mine.tokens -= 1.0
        theirs.tokens -= 1.0
        return None

    def _bucket(self, key: tuple[str, str], now: float, capacity: int) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(float(capacity), now)
        else:
            bucket.refill(now, capacity)
        return bucket

    def _forget(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            capacity = self.per_room if key[1] == "" else self.per_sender
            bucket.refill(now, capacity)
            if bucket.tokens >= capacity:
                del self._buckets[key]


def held_text(held: Held, sender_name: str) -> Message:
    """The moderators' notice (rendered in the room's language). No message text."""
    if held.who == "sender":
        return _(
            "{name} sent more than {limit} messages in a minute that would cross to other "
            "rooms. Their messages are held here and do not cross until they slow down "
            "(a quiet minute).",
            name=sender_name or "?",
            limit=held.limit,
        )
    return _(
        "This room sent more than {limit} messages in a minute that would cross to other "
        "rooms. Messages are held here and do not cross until it slows down (a quiet minute).",
        limit=held.limit,
    )
