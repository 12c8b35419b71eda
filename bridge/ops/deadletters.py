"""Dead letters from the shell: ``translocal deadletters list|retry ID|drop ID``.

The deliverer writes a delivery that failed for good to ``keys.DEAD_LETTERS`` (a stream:
the delivery, its bot, and the reason) and the hourly upkeep trims it to the retention.
Here:

- ``listing`` shows id, age, room and reason: never the text, the attribution or a user id;
- ``retry`` moves the delivery back to its bot's outbox in one Lua script (delete from the
  dead letters, add to the outbox: both or neither), so a retry of the same id twice, from
  two shells at once, queues it once; the second is refused;
- ``drop`` deletes it, rebuilds the stream so its bytes are gone from memory, and asks Redis
  to rewrite its append-only file so they go from the disk too.

Bad input (an unknown id, a malformed one, a bot no longer configured) raises
DeadLetterRefused with one line, and nothing changes.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.config.models import Config
from bridge.infra.bus import compact
from bridge.infra.connection import open_redis
from bridge.model import keys
from bridge.model.envelope import Delivery
from bridge.model.errors import TranslocalError

Entries = list[tuple[str, dict[str, str]]]  # XRANGE, decoded

ID = re.compile(r"\d{1,19}-\d{1,19}")
REASON_MAX = 200  # characters of a reason shown

_RETRY = """
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return 0 end
local fields = found[1][2]
for i = 1, #fields, 2 do
  if fields[i] == 'd' then
    redis.call('XDEL', KEYS[1], ARGV[1])
    redis.call('XADD', KEYS[2], '*', 'd', fields[i + 1])
    return 1
  end
end
return 0
"""


class DeadLetterRefused(TranslocalError):
    """Bad input for ``deadletters``: one line; nothing was changed (the CLI exits 2)."""

    exit_code = 2


@dataclass(frozen=True)
class DeadLetter:
    id: str
    at: float  # when it was dead-lettered (Unix s, from the stream id)
    bot: str
    room: str
    origin: str  # the room the message came from
    kind: str  # copy, edit, delete, call-out or notice
    reason: str


def printable(text: str, limit: int = REASON_MAX) -> str:
    """One line of printable characters (a platform's reason may hold anything)."""
    flat = "".join(ch if ch.isprintable() else " " for ch in text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def age(seconds: float) -> str:
    s = max(int(seconds), 0)
    if s < 3600:
        return f"{s // 60} min"
    if s < 2 * 86400:
        return f"{s // 3600} h"
    return f"{s // 86400} days"


def _parse(entry_id: str, fields: dict[str, Any]) -> DeadLetter | None:
    try:
        d = Delivery.model_validate_json(fields.get("d", ""))
    except ValueError:
        return None
    kind = (
        "call-out"
        if d.callout
        else "notice"
        if d.notice
        else {"send": "copy"}.get(d.action, d.action)
    )
    return DeadLetter(
        id=entry_id,
        at=int(entry_id.split("-")[0]) / 1000,
        bot=d.bot,
        room=d.room,
        origin=d.origin.room,
        kind=kind,
        reason=printable(str(fields.get("reason", ""))),
    )


def _checked(dead_id: str) -> str:
    if not ID.fullmatch(dead_id):
        shown = printable(dead_id, 40)
        raise DeadLetterRefused(
            f"{shown!r} is not a dead-letter id (like 1718000000000-0: see "
            "`translocal deadletters list`)"
        )
    return dead_id


async def _get(redis: Redis, dead_id: str) -> DeadLetter:
    found = cast(Entries, await redis.xrange(keys.DEAD_LETTERS, _checked(dead_id), dead_id))
    letter = _parse(found[0][0], found[0][1] or {}) if found else None
    if letter is None:
        raise DeadLetterRefused(f"no dead letter {dead_id} (already retried or dropped?)")
    return letter


async def letters(redis: Redis, count: int = 10_000) -> list[DeadLetter]:
    """The dead letters, oldest first (unreadable entries left out)."""
    found = cast(Entries, await redis.xrange(keys.DEAD_LETTERS, "-", "+", count=count))
    parsed = (_parse(entry_id, fields or {}) for entry_id, fields in found)
    return [letter for letter in parsed if letter is not None]


def _label(config: Config, room_id: str) -> str:
    room = next((r for r in config.rooms if r.id == room_id), None)
    return printable(room.label if room is not None else room_id, 60)


async def listing(redis: Redis, config: Config, now: float) -> list[str]:
    """One line per dead letter: id, age, bot, room (from where), kind, reason."""
    return [
        f"{d.id}  {age(now - d.at) + ' ago':<12} bot {d.bot:<10} {_label(config, d.room)} "
        f"(from {_label(config, d.origin)})  {d.kind}: {d.reason}"
        for d in await letters(redis)
    ]


async def retry(redis: Redis, config: Config, dead_id: str) -> DeadLetter:
    """Put the delivery back on its bot's outbox, exactly once; the dead letter goes."""
    letter = await _get(redis, dead_id)
    if letter.bot not in {b.id for b in config.bots}:
        raise DeadLetterRefused(
            f"{dead_id} is for bot {printable(letter.bot, 40)!r}, which is not in the config; "
            "drop it instead"
        )
    moved = await redis.eval(_RETRY, 2, keys.DEAD_LETTERS, keys.outbox(letter.bot), dead_id)
    if not moved:  # retried or dropped by someone else in between
        raise DeadLetterRefused(f"no dead letter {dead_id} (already retried or dropped?)")
    return letter


async def drop(redis: Redis, dead_id: str) -> DeadLetter:
    """Delete a dead letter and its body, from memory and (by a rewrite) from the disk."""
    letter = await _get(redis, dead_id)
    if not await redis.xdel(keys.DEAD_LETTERS, dead_id):
        raise DeadLetterRefused(f"no dead letter {dead_id} (already retried or dropped?)")
    await compact(redis, keys.DEAD_LETTERS)
    with contextlib.suppress(RedisError):  # one already running, or a managed Redis
        await redis.bgrewriteaof()
    return letter


def describe(letter: DeadLetter, config: Config) -> str:
    return (
        f"{letter.id}: back in the outbox of bot {letter.bot} (for {_label(config, letter.room)})"
    )


async def shell(config: Config, action: str, dead_id: str | None, now: float) -> list[str]:
    """What ``translocal deadletters ACTION [ID]`` prints, with the configured Redis open."""
    if (action == "list") != (dead_id is None):
        raise DeadLetterRefused(
            "usage: deadletters list | deadletters retry ID | deadletters drop ID"
        )
    handle = await open_redis(config.redis, config.data_dir)
    try:
        if dead_id is None:
            return await listing(handle.client, config, now) or ["no dead letters"]
        if action == "retry":
            return [describe(await retry(handle.client, config, dead_id), config)]
        await drop(handle.client, dead_id)
        return [f"{dead_id}: dropped"]
    finally:
        await handle.close()
