"""``translocal status`` and the /status page's data: the network at a glance.

Rooms (platform, language, circles, paused, last message in and last copy out, outbox depth,
dead letters), bots (the health each running bot process last reported), call-outs (next
due). Everything comes from Redis, so any process, or the shell, sees the whole network:

- last in / last out: ``keys.ACTIVITY``, which the deliverer sets in the transaction that
  records a copy (one HSET: the time the origin message was taken in, the time its copy
  went out); a room whose messages crossed nowhere yet shows "never";
- bot health: ``keys.bot_state(bot, "status")``, written by the running app every
  ``HEALTH_EVERY_S`` and expiring after ``HEALTH_TTL_S``, so a dead process shows "not
  reported" instead of its last good word;
- outbox and dead letters: counted from the streams (at most ``SCAN`` entries a bot).

No message text, no attribution, no user id is read into a row. Rooms come from the config;
``known_rooms`` marks the rooms linked from chat (issue 18) "linked".
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from redis.asyncio import Redis

from bridge.callouts.clock import shared_now
from bridge.callouts.model import from_config, upcoming
from bridge.callouts.store import CalloutStore
from bridge.config.linked import is_linked
from bridge.config.models import Config, RoomConfig
from bridge.infra.connection import open_redis
from bridge.model import keys
from bridge.ops.deadletters import Entries, age, letters, printable
from bridge.ops.rooms import laid, stored

HEALTH_EVERY_S = 30.0  # how often a running app writes each bot's health
HEALTH_TTL_S = 120  # a report older than this is gone: the process is not running
SCAN = 5000  # outbox entries read per bot to count them by room


@dataclass(frozen=True)
class RoomRow:
    id: str
    label: str
    platform: str
    bot: str
    language: str
    circles: tuple[str, ...]
    paused: bool
    last_in: float | None
    last_out: float | None
    outbox: int
    outbox_more: bool  # the bot's outbox is longer than was counted
    dead_letters: int
    source: str = "config"  # "linked" for rooms linked from chat (issue 18)


@dataclass(frozen=True)
class BotRow:
    id: str
    platform: str
    health: str | None  # "ok", what is wrong, or None: no running process reported
    reported: float | None
    outbox: int


@dataclass(frozen=True)
class CalloutRow:
    id: str
    source: str
    to: str
    next_due: datetime | None


@dataclass(frozen=True)
class Status:
    at: float
    rooms: list[RoomRow]
    bots: list[BotRow]
    callouts: list[CalloutRow]
    dead_letters: int


def known_rooms(config: Config) -> list[tuple[RoomConfig, str]]:
    """Every room the status shows, with where it comes from: "config", or "linked" for a
    room linked from chat (laid over ``config`` by the run's follower, or by ``shell``)."""
    return [(room, "linked" if is_linked(config, room.id) else "config") for room in config.rooms]


async def report_health(redis: Redis, bot_id: str, trouble: str | None, now: float) -> None:
    """What the running app writes for ``status``: one small hash a bot, expiring."""
    key = keys.bot_state(bot_id, "status")
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, mapping={"health": trouble or "ok", "at": f"{now:.0f}"})
        pipe.expire(key, HEALTH_TTL_S)
        await pipe.execute()


def _time(raw: str | None) -> float | None:
    with contextlib.suppress(TypeError, ValueError):
        return float(cast(str, raw))
    return None


async def _outbox(redis: Redis, bot_id: str) -> tuple[int, Counter[str]]:
    stream = keys.outbox(bot_id)
    depth = int(await redis.xlen(stream))
    per_room: Counter[str] = Counter()
    for _entry_id, fields in cast(Entries, await redis.xrange(stream, "-", "+", count=SCAN)):
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            per_room[str(json.loads((fields or {}).get("d", "")).get("room", "?"))] += 1
    return depth, per_room


async def _callouts(redis: Redis, config: Config) -> list[CalloutRow]:
    now = await shared_now(redis)
    stored = await CalloutStore(redis).all()
    for entry in config.callouts:  # not loaded by a run yet
        if entry.id not in stored:
            stored[entry.id] = from_config(entry, now.timestamp())
    rows = []
    for callout in stored.values():
        fires = [f for _room, f in upcoming(callout, config, now) if f is not None]
        to = ", ".join([f"circle {c}" for c in callout.circles] + list(callout.rooms))
        rows.append(CalloutRow(callout.id, callout.source, to, min(fires) if fires else None))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(rows, key=lambda r: (r.next_due or far, r.id))


async def gather(redis: Redis, config: Config, now: float) -> Status:
    """Read the network's state from Redis (ids, times and counts only)."""
    activity = cast(dict[str, str], await redis.hgetall(keys.ACTIVITY))
    paused = cast(set[str], await redis.smembers(keys.PAUSED))
    dead = await letters(redis)
    dead_by_room = Counter(d.room for d in dead)
    outboxes = {b.id: await _outbox(redis, b.id) for b in config.bots}
    platforms = {b.id: b.platform for b in config.bots}
    rooms = []
    for room, source in known_rooms(config):
        depth, per_room = outboxes.get(room.bot, (0, Counter[str]()))
        rooms.append(RoomRow(
            id=room.id, label=room.label, platform=platforms.get(room.bot, "?"), bot=room.bot,
            language=room.language, paused=room.id in paused, source=source,
            circles=tuple(c.id for c in config.circles if room.id in c.rooms),
            last_in=_time(activity.get(f"in:{room.id}")),
            last_out=_time(activity.get(f"out:{room.id}")),
            outbox=per_room.get(room.id, 0), outbox_more=depth > SCAN,
            dead_letters=dead_by_room.get(room.id, 0),
        ))  # fmt: skip
    bots = []
    for bot in config.bots:
        reported = cast(dict[str, str], await redis.hgetall(keys.bot_state(bot.id, "status")))
        bots.append(BotRow(bot.id, bot.platform, reported.get("health"),
                           _time(reported.get("at")), outboxes[bot.id][0]))  # fmt: skip
    return Status(now, rooms, bots, await _callouts(redis, config), len(dead))


def when(moment: float | None, now: float) -> str:
    if moment is None:
        return "never"
    stamp = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M")
    return f"{stamp}Z ({age(now - moment)} ago)"


def health_text(bot: BotRow, now: float) -> str:
    if bot.health is None:
        return "not reported (no process running its bot?)"
    return f"{printable(bot.health, 120)} ({when(bot.reported, now)})"


def due_text(row: CalloutRow) -> str:
    return f"{row.next_due:%Y-%m-%d %H:%M}Z" if row.next_due else "nothing left to fire"


def _table(head: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> list[str]:
    rows = [head, *rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]  # fmt: skip


def lines(status: Status) -> list[str]:
    """The text ``translocal status`` prints."""
    now = status.at
    out = [f"Translocal status, {datetime.fromtimestamp(now, UTC):%Y-%m-%d %H:%M:%S}Z", "Rooms:"]
    out += _table(
        ("room", "label", "platform", "lang", "circles", "paused", "last in", "last out",
         "outbox", "dead", "from"),
        ((r.id, printable(r.label, 40), r.platform, r.language, ",".join(r.circles) or "-",
          "PAUSED" if r.paused else "no", when(r.last_in, now), when(r.last_out, now),
          f"{r.outbox}{'+' if r.outbox_more else ''}", str(r.dead_letters), r.source)
         for r in status.rooms),
    )  # fmt: skip
    out.append("Bots:")
    out += _table(("bot", "platform", "outbox", "health"),
                  ((b.id, b.platform, str(b.outbox), health_text(b, now))
                   for b in status.bots))  # fmt: skip
    out.append("Call-outs:")
    if status.callouts:
        out += _table(("id", "from", "next due (UTC)", "to"),
                      ((c.id, c.source, due_text(c), c.to) for c in status.callouts))  # fmt: skip
    else:
        out.append("  none")
    out.append(f"Dead letters: {status.dead_letters} (translocal deadletters list)")
    return out


async def shell(config: Config, now: float) -> list[str]:
    """What ``translocal status`` prints, with the configured Redis open."""
    handle = await open_redis(config.redis, config.data_dir)
    try:
        laid(config, await stored(handle.client))  # the rooms linked from chat too
        return lines(await gather(handle.client, config, now))
    finally:
        await handle.close()
