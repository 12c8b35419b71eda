"""``translocal check``: what was verified, as a table, and the exit code it earns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click

from bridge.app import adapters
from bridge.config.load import LoadedConfig
from bridge.infra.connection import open_redis
from bridge.infra.schema import LATEST, current_version
from bridge.model.errors import ServiceUnavailable

OK, WARN, FAIL, SKIP = "ok", "warning", "FAILED", "unchecked"


@dataclass(frozen=True)
class Row:
    what: str
    result: str
    detail: str


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _print(rows: list[Row]) -> None:
    width = max(len(r.what) for r in rows)
    click.echo(f"{'CHECK':<{width}}  {'RESULT':<9}  DETAIL")
    for r in rows:
        click.echo(f"{r.what:<{width}}  {r.result:<9}  {r.detail}")


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


async def run_check(loaded: LoadedConfig) -> int:
    """Check the config, Redis and (as the adapters land) every room; return the exit code."""
    cfg = loaded.config
    rows = [
        Row(
            "config",
            OK,
            f"{loaded.path}: {_plural(len(cfg.bots), 'bot')}, {_plural(len(cfg.rooms), 'room')}, "
            f"{_plural(len(cfg.circles), 'circle')}, {_plural(len(cfg.callouts), 'call-out')}",
        )
    ]
    rows += [Row(w.path, WARN, w.message) for w in loaded.warnings]
    code = 0
    try:
        handle = await open_redis(cfg.redis, cfg.data_dir)
    except ServiceUnavailable as exc:
        rows.append(Row("redis", FAIL, str(exc)))
        code = ServiceUnavailable.exit_code
    else:
        try:
            rows.append(Row("redis", OK, f"redis {handle.version}, {handle.where}"))
            version = await current_version(handle.client)
            if version > LATEST:
                rows.append(Row("schema", FAIL, f"version {version} is newer than {LATEST}"))
                code = 1
            elif version == 0:
                rows.append(Row("schema", OK, "empty; the first run sets it up"))
            else:
                behind = "" if version == LATEST else f" (the next run upgrades it to {LATEST})"
                rows.append(Row("schema", OK, f"version {version}{behind}"))
            rows.append(_memory(await handle.client.info("memory")))
        finally:
            await handle.close()
    for bot in cfg.bots:
        rooms = cfg.rooms_of(bot.id)
        platform = adapters([bot.platform]).get(bot.platform)
        checker = platform.check_rooms if platform else None
        if checker is None:
            rows += [
                Row(f"room {r.id}", SKIP, f"{bot.platform} chat {r.chat}: cannot be checked yet")
                for r in rooms
            ]
            continue
        for found in await checker(bot, rooms):
            rows.append(Row(f"room {found.room}", OK if found.ok else FAIL, found.detail))
            if not found.ok:
                code = ServiceUnavailable.exit_code
    _print(rows)
    return code
