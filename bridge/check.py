"""``translocal check``: what was verified, as a table (or JSON), and the exit code it earns.

The parts are row producers (``producers``): the config and its warnings, Redis, circles
(none at all, a room in none), config call-outs whose time has passed, and each bot's rooms
on its platform, every room row naming its bot ("telegram bot cdmx: ..."). Warnings never
change the exit code; a failure does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click

from bridge.app import adapters
from bridge.callouts.model import from_config, next_fire, targets, zone_of
from bridge.config.load import LoadedConfig
from bridge.discover import printable
from bridge.infra.connection import open_redis
from bridge.infra.schema import LATEST, current_version
from bridge.model.errors import ServiceUnavailable

OK, WARN, FAIL, SKIP = "ok", "warning", "FAILED", "unchecked"


@dataclass(frozen=True)
class Row:
    what: str
    result: str
    detail: str
    exit_code: int = 0  # what the row costs the check: 0 ok, 4 not ready, 1 schema too new


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _print(rows: list[Row]) -> None:
    width = max(len(r.what) for r in rows)
    click.echo(f"{'CHECK':<{width}}  {'RESULT':<9}  DETAIL")
    for r in rows:  # a detail may quote a platform's answer: shown inert
        click.echo(f"{printable(r.what):<{width}}  {r.result:<9}  {printable(r.detail)}")


NEAR_FULL = 0.8  # of maxmemory: past it, check warns


def _memory(info: dict[str, Any]) -> Row:
    """Redis memory against its ceiling: a warning near it (writes fail at it, and the
    bridge stops carrying), or when the policy lets Redis evict the bridge's state."""
    used, ceiling = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
    policy = str(info.get("maxmemory_policy", "noeviction"))
    mb = 1024 * 1024
    if ceiling <= 0:
        return Row("redis memory", OK, f"{used / mb:.0f} MB used; no maxmemory set")
    share = used / ceiling
    detail = f"{used / mb:.0f} MB of {ceiling / mb:.0f} MB ({share:.0%})"
    if policy != "noeviction":
        return Row("redis memory", WARN, f"{detail}; maxmemory-policy is {policy}: Redis may "
                   "evict queues and message maps; set maxmemory-policy noeviction")  # fmt: skip
    if share >= NEAR_FULL:
        return Row("redis memory", WARN, f"{detail}: near maxmemory (noeviction), past which "
                   "nothing crosses; raise it or lower retention")  # fmt: skip
    return Row("redis memory", OK, f"{detail}, noeviction")


RowProducer = Callable[[LoadedConfig], Awaitable[list[Row]]]


def producers() -> list[RowProducer]:
    """The parts of ``check``, in the table's order. Each takes the loaded config and returns
    its rows; a row whose ``exit_code`` is not 0 fails the check. A new part (the translation
    providers' rows, for one) is one more function in this list."""
    return [_config_rows, _redis_rows, _linked_rows, _circle_rows, _callout_rows, _room_rows,
            _translation_rows]  # fmt: skip


async def run_check(loaded: LoadedConfig, *, as_json: bool = False) -> int:
    """Run every part, print the rows (a table, or a JSON list for scripts) and return the
    exit code: the highest any row asks for (4 for a room that is not ready or a service that
    cannot be reached, 1 for a schema newer than this translocal), else 0."""
    rows: list[Row] = []
    for produce in producers():
        rows += await produce(loaded)
    if as_json:
        listed = [{"check": r.what, "result": r.result, "detail": r.detail} for r in rows]
        click.echo(json.dumps(listed, indent=2))  # ASCII only: no control reaches a terminal
    else:
        _print(rows)
    return max((r.exit_code for r in rows), default=0)


async def _config_rows(loaded: LoadedConfig) -> list[Row]:
    cfg = loaded.config
    summary = (
        f"{loaded.path}: {_plural(len(cfg.bots), 'bot')}, {_plural(len(cfg.rooms), 'room')}, "
        f"{_plural(len(cfg.circles), 'circle')}, {_plural(len(cfg.callouts), 'call-out')}"
    )
    return [Row("config", OK, summary)] + [Row(w.path, WARN, w.message) for w in loaded.warnings]


async def _redis_rows(loaded: LoadedConfig) -> list[Row]:
    cfg = loaded.config
    try:
        handle = await open_redis(cfg.redis, cfg.data_dir)
    except ServiceUnavailable as exc:
        return [Row("redis", FAIL, str(exc), ServiceUnavailable.exit_code)]
    try:
        rows = [Row("redis", OK, f"redis {handle.version}, {handle.where}")]
        version = await current_version(handle.client)
        if version > LATEST:
            rows.append(Row("schema", FAIL, f"version {version} is newer than {LATEST}", 1))
        elif version == 0:
            rows.append(Row("schema", OK, "empty; the first run sets it up"))
        else:
            behind = "" if version == LATEST else f" (the next run upgrades it to {LATEST})"
            rows.append(Row("schema", OK, f"version {version}{behind}"))
        rows.append(_memory(await handle.client.info("memory")))
        return rows
    finally:
        await handle.close()


async def _linked_rows(loaded: LoadedConfig) -> list[Row]:
    """Rooms linked from chat, laid over the config as a run lays them, so that the parts
    after this one (circles, call-outs, each bot's rooms) check them like the file's rooms.
    Read-only: a record the file's rooms win over is a warning here; the next run unlinks it."""
    from bridge.ops.rooms import day, laid, stored, unreadable_line

    cfg = loaded.config
    try:
        handle = await open_redis(cfg.redis, cfg.data_dir)
    except ServiceUnavailable:  # the redis row says why, and fails the check
        return [Row("linked rooms", SKIP, "Redis unreachable: rooms linked from chat not read")]
    try:
        found = await stored(handle.client)
    finally:
        await handle.close()
    left_out = laid(cfg, found)
    ids = [r.room.id for r in found.rooms if r.room.id not in left_out]
    summary = f"{len(ids)} linked from chat: {', '.join(ids)}" if ids else "none linked from chat"
    rows = [Row("linked rooms", WARN if found.unreadable else OK, summary if not found.unreadable
                else f"{summary}; {unreadable_line(found.unreadable)}")]  # fmt: skip
    for r in found.rooms:
        why = left_out.get(r.room.id)
        detail = (f"linked from chat into circle {r.circle} by {r.linked_by} on "
                  f"{day(r.linked_at)}")  # fmt: skip
        if why is None:
            rows.append(Row(f"room {r.room.id}", OK, detail))
        else:
            rows.append(Row(f"room {r.room.id}", WARN, f"{detail}; left out: {why} (the next "
                            "run unlinks it: the config file decides)"))  # fmt: skip
    return rows


def _bot_of(loaded: LoadedConfig, bot_id: str) -> str:
    """How a row names a bot: "telegram bot cdmx_bot"."""
    return f"{loaded.config.bot(bot_id).platform} bot {bot_id}"


async def _circle_rows(loaded: LoadedConfig) -> list[Row]:
    """No circle at all, or a room in none: nothing crosses there (warnings: a network may
    be set up one room at a time)."""
    cfg = loaded.config
    if not cfg.circles:
        return [Row("circles", WARN, "no circles: nothing crosses between rooms; add one under "
                    "circles: with the rooms that share threads")]  # fmt: skip
    in_one = {room for circle in cfg.circles for room in circle.rooms}
    return [
        Row(f"room {r.id}", WARN, f"{_bot_of(loaded, r.bot)}: in no circle, so nothing crosses "
            "from or to it; add it to a circle's rooms (call-outs still reach it by name)")
        for r in cfg.rooms
        if r.id not in in_one
    ]  # fmt: skip


async def _callout_rows(loaded: LoadedConfig) -> list[Row]:
    """A config call-out whose ``at`` has passed (in every room it goes to, or in some:
    local mode reads it in each room's timezone) is reported as skipped, not sent."""
    cfg = loaded.config
    now = time.time()
    moment = datetime.fromtimestamp(now, UTC)
    rows = []
    for entry in cfg.callouts:
        if entry.at is None:
            continue
        callout = from_config(entry, now)
        rooms = targets(callout, cfg)
        past = [r.id for r in rooms if next_fire(callout, zone_of(callout, r), moment) is None]
        if not past:
            continue
        where = "" if len(past) == len(rooms) else f" in {', '.join(past)}"
        zone = "each room's local time" if callout.mode == "local" else callout.tz
        rows.append(Row(f"call-out {entry.id}", WARN, f"at {entry.at} ({zone}) is already past"
                        f"{where}: it will not be sent there (beyond callout_grace_minutes); "
                        "change its at: or remove it"))  # fmt: skip
    return rows


async def _room_rows(loaded: LoadedConfig) -> list[Row]:
    """Each bot checks its rooms on its platform; every row names the bot."""
    cfg = loaded.config
    rows = []
    for bot in cfg.bots:
        who = f"{bot.platform} bot {bot.id}"
        rooms = cfg.rooms_of(bot.id)
        platform = adapters([bot.platform]).get(bot.platform)
        checker = platform.check_rooms if platform else None
        if checker is None:
            rows += [
                Row(f"room {r.id}", SKIP, f"{who}: chat {r.chat}: cannot be checked yet")
                for r in rooms
            ]
            continue
        for found in await checker(bot, rooms):
            detail = f"{who}: {found.detail.removeprefix(f'{who}: ')}"
            code = 0 if found.ok else ServiceUnavailable.exit_code
            rows.append(Row(f"room {found.room}", OK if found.ok else FAIL, detail, code))
    return rows


async def _translation_rows(loaded: LoadedConfig) -> list[Row]:
    """Each provider tries a short text into every room language (translation.probe): a
    provider that lacks one is a warning (the next may cover it), any other failure fails."""
    from bridge.relay.translate import build_providers
    from translation.probe import probe

    languages = {r.language for r in loaded.config.rooms}
    rows = []
    for provider in build_providers(loaded.config):
        try:
            found = await probe(provider, languages)
        finally:
            await provider.close()
        result = OK if found.ok else WARN if found.unsupported else FAIL
        code = ServiceUnavailable.exit_code if result == FAIL else 0
        rows.append(Row(f"translation {found.provider}", result, found.detail, code))
    return rows
