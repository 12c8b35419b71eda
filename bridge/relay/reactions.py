"""Reaction counts on copies (circles with ``carry_reactions: true``): the store and the edits.

A copy in such a circle ends, once members react, with a count line ("✊ 12 · ❤️ 4") that
counts the reactions on the origin and on every copy of it, and never says who reacted. The
deliverer keeps, for such copies only, the delivery it sent (``keys.reaction_copies``: room -> the
Delivery's JSON) for ``retention.recent_hours``, since an edit must resend the copy's whole
text and the bridge keeps no other copy of it; a retract purges it (bridge.moderation.purge).
After that time reactions are no longer shown.

Keys, all per origin ``<room>/<id>`` and expiring after ``recent_hours``:

- ``tl:rx:d:<origin>``: the rendered deliveries, room -> JSON;
- ``tl:rx:c:<origin>``: emoji -> count, and ``.edited`` (when the copies were last edited);
- ``tl:rx:m:<origin>``: ``<marker>`` -> the member's current emoji, where the marker is an
  HMAC of ``<room>|<member id>`` under a random salt of this origin (``tl:rx:s:<origin>``):
  a member counts once per message she reacted on, her latest reaction (as Telegram shows
  one), and the stored marker does not say who she is;
- ``tl:rx:e:<room>:<reaction id>``: a Matrix reaction's own event id -> ``<origin>\\t<marker>
  \\t<emoji>``, so that its redaction withdraws it;
- ``tl:rx:due``: a sorted set of origins whose copies show old counts, by when they may be
  edited next.

The counting is bridge.infra.tally's (one Lua script moves a member's reaction: old count
down, new one up, the origin due), so two relay workers lose nothing and a handler run twice
changes nothing more. ``flush`` (one loop, on the call-out clock) edits each due origin's
copies at most once a minute (``EDIT_EVERY_S``, ``tally.claim``): the stored delivery again,
action ``edit``, the count line appended, through the bot's outbox, so the deliverer's order
and idempotency hold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bridge.config.models import Config
from bridge.infra import tally
from bridge.infra.retry import step_until_stopped
from bridge.model import keys
from bridge.model.envelope import Delivery, MsgRef

log = logging.getLogger(__name__)

EDIT_EVERY_S = 60  # a copy's count line is edited at most this often
SHOWN = 8  # emoji kinds on the line, the most used first


def all_keys(origin: MsgRef) -> list[str]:
    """What a retract deletes: the rendered copies (texts), counts, markers, salt."""
    return [keys.reaction_copies(origin), keys.reaction_counts(origin),
            keys.reaction_marks(origin), keys.reaction_salt(origin)]  # fmt: skip


def carries(config: Config, a: str, b: str) -> bool:
    """Rooms ``a`` and ``b`` share a circle with ``carry_reactions: true``."""
    return any(c.carry_reactions and a in c.rooms and b in c.rooms for c in config.circles)


def keep_for(config: Config) -> Callable[[Delivery], int]:
    """For the deliverer: how long to keep a delivery it sent (0: not at all). Only copies of
    members' messages into a room a carry_reactions circle links to the origin's room."""

    def seconds(d: Delivery) -> int:
        if d.notice or d.callout or d.action == "delete" or d.poll or d.location:
            return 0  # a poll or a location copy has no text an edit could end with a line
        return config.retention.recent_hours * 3600 if carries(config, d.origin.room, d.room) else 0

    return seconds


def _tally(origin: MsgRef | str, ttl: int = 0) -> tally.Tally:
    return tally.Tally(
        counts=keys.reaction_counts(origin), marks=keys.reaction_marks(origin),
        due=keys.REACTIONS_DUE, member=str(origin), ttl=ttl, ordered=True,
    )  # fmt: skip


async def marker(redis: Redis, origin: MsgRef, room: str, who: str, ttl: int) -> str:
    """The member's marker on ``origin``: one per room she reacted from."""
    return await tally.marker(redis, keys.reaction_salt(origin), f"{room}|{who}", ttl)


async def move(
    redis: Redis, origin: MsgRef, mark: str, emoji: str, ttl: int, *, only_from: str = ""
) -> bool:
    """Set the member's (``mark``) reaction on ``origin`` to ``emoji`` ("" withdraws it);
    with ``only_from``, only while her reaction is that one."""
    allowed = (only_from,) if only_from else ()
    return await tally.move(redis, _tally(origin, ttl), mark, emoji, only_from=allowed)


async def counts(redis: Redis, origin: MsgRef | str) -> dict[str, int]:
    raw = cast(dict[str, str], await redis.hgetall(keys.reaction_counts(origin)))
    return {k: int(v) for k, v in raw.items() if not k.startswith(".") and int(v) > 0}


def line(found: dict[str, int]) -> str:
    """The count line, "✊ 12 · ❤️ 4": the most used first, ``SHOWN`` kinds at most; no names."""
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))[:SHOWN]
    return " · ".join(f"{emoji} {n}" for emoji, n in ranked)


async def flush(redis: Redis, now: float) -> int:
    """Queue one edit per copy of each due origin whose minute has passed; how many."""
    queued = 0
    for member in [str(m) for m in await redis.zrangebyscore(keys.REACTIONS_DUE, 0, now)]:
        if not await tally.claim(redis, _tally(member), now, EDIT_EVERY_S):
            continue
        stored = cast(dict[str, str], await redis.hgetall(keys.reaction_copies(member)))
        found = cast(dict[str, str], await redis.hgetall(keys.reaction_counts(member)))
        if not any(not k.startswith(".") for k in found):
            continue  # an author's edit of a copy nobody reacted on: nothing to add
        shown = line(await counts(redis, member))
        for room, raw in sorted(stored.items()):
            base = Delivery.model_validate_json(raw)
            text = f"{base.text}\n{shown}" if shown else base.text
            edit = base.model_copy(
                update={"action": "edit", "key": f"rx:{member}>{room}:{now:.0f}", "text": text}
            )
            await redis.xadd(keys.outbox(base.bot), {"d": edit.model_dump_json()})
            queued += 1
    return queued


class Clock(Protocol):
    """The call-out clock (bridge.callouts.clock), as far as the edits use it."""

    def now(self) -> datetime: ...
    async def sleep_until(
        self, when: datetime | None, stop: asyncio.Event, limit_s: float
    ) -> None: ...


async def run_edits(redis: Redis, clock: Clock, stop: asyncio.Event) -> None:
    """Until ``stop``: the due count lines, edited in (one task of the relay role)."""

    async def step() -> None:
        queued = await flush(redis, clock.now().timestamp())
        if queued:
            log.info("reaction counts: %d copies edited", queued)
        await clock.sleep_until(None, stop, 1.0)

    await step_until_stopped(step, stop, "reaction counts")


def keep(pipe: Pipeline, d: Delivery, seconds: int) -> None:
    """In the deliverer's record transaction: keep the copy as sent (a send), or as the author
    last edited it (an edit from the relay; not the count lines' own edits), and have the
    count line appended again after an author's edit."""
    if seconds <= 0 or d.key.startswith("rx:") or d.action not in ("send", "edit"):
        return
    pipe.hset(keys.reaction_copies(d.origin), d.room, d.model_dump_json())
    pipe.expire(keys.reaction_copies(d.origin), seconds)
    if d.action == "edit":
        pipe.zadd(keys.REACTIONS_DUE, {str(d.origin): 0}, nx=True)
