"""``translocal rooms list|unlink|export``: the rooms linked from chat, seen from the shell.

Organizers link rooms from chat (issue 18, docs/adding-a-city.md); the records live in Redis
(``bridge.infra.links``). The operator needs to see them beside the config file's rooms,
to remove one, and to move them into the file, where they belong for good:

- ``list``: one table of every room, the file's ("config") and the linked ones ("linked by
  <who> on <date>"), laid over the config as a running bridge lays them; a record the bridge
  leaves out (the file now has its id or chat) is listed with why, and a record that cannot
  be read (written by hand, or by another version) is named, not hidden;
- ``unlink ID``: removes a linked room (every running process lets it go within a second:
  they follow the version the unlink counts), audited as done by the operator; the id of a
  file room, or one not linked, is refused with one line (exit 2) and nothing changes;
- ``export``: the linked rooms as YAML to paste under ``rooms:``, with what YAML could
  misread quoted (a chat is always quoted: ``-100…`` would read as a number and ``!room:…``
  as a tag), and the ids to add to each circle's rooms list as comments. At the next start
  the file's rooms take over the linked records (``links.load`` drops them).

Nothing here prints a message or a code; ids, labels and who linked are shown inert.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml
from redis.asyncio import Redis

from bridge.config.linked import LinkedRoom, clash, is_linked, linked, merge
from bridge.config.load import LoadedConfig
from bridge.config.models import Config
from bridge.infra.connection import open_redis
from bridge.infra.links import LinkStore
from bridge.model import keys
from bridge.model.errors import TranslocalError
from bridge.moderation.audit import Audit
from bridge.ops.deadletters import printable

T = TypeVar("T")
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
OPERATOR = "operator (shell)"  # who the audit names for what is done from here


class RoomRefused(TranslocalError):
    """Bad input for ``rooms``: one line; nothing was changed (the CLI exits 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Stored:
    """The linked room records in Redis: the readable ones, and the ids of the others."""

    rooms: list[LinkedRoom]
    unreadable: list[str]


async def stored(redis: Redis) -> Stored:
    """The records as they are; one that does not parse, or whose id is not its key, is
    unreadable (a running bridge skips both, with a log line)."""
    rooms, bad = await LinkStore(redis, time.time).records()
    return Stored(rooms, list(bad))


def laid(config: Config, found: Stored) -> dict[str, str]:
    """Lay ``found`` over ``config`` (in place, as a running bridge does) and return, by id,
    why each record left out is (the file's rooms win). Those are sorted out here, so that
    ``merge`` does not log them too: the table says it."""
    left_out: dict[str, str] = {}
    fits = []
    for record in found.rooms:
        why = clash(config, record)
        if why is None:
            fits.append(record)
        else:
            left_out[record.room.id] = why
    for room_id in merge(config, fits):
        left_out[room_id] = "another linked room has its id or chat"
    return left_out


def day(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%MZ")


def unreadable_line(ids: list[str]) -> str:
    names = ", ".join(printable(i, 64) for i in ids)
    records = "record is" if len(ids) == 1 else "records are"
    first = printable(shlex.quote(ids[0]), 64)
    return f"{len(ids)} linked room {records} unreadable: {names} " + (
        f"(`translocal rooms unlink {first}` removes one)")  # fmt: skip


def table(config: Config, found: Stored, left_out: dict[str, str]) -> list[str]:
    """What ``rooms list`` prints, ``config`` laid over already."""
    platforms = {b.id: b.platform for b in config.bots}
    by_id = {r.room.id: r for r in found.rooms}
    rows = []
    for room in config.rooms:
        circles = ",".join(c.id for c in config.circles if room.id in c.rooms) or "-"
        source = "config"
        if is_linked(config, room.id):
            record = by_id[room.id]
            source = f"linked by {printable(record.linked_by, 80)} on {day(record.linked_at)}"
        rows.append((room.id, printable(room.label, 40), room.language,
                     platforms.get(room.bot, "?"), circles, source))  # fmt: skip
    for room_id, why in left_out.items():
        record = by_id[room_id]
        rows.append((room_id, printable(record.room.label, 40), record.room.language,
                     platforms.get(record.room.bot, "?"), record.circle,
                     f"linked, left out: {why}; the next start unlinks it"))  # fmt: skip
    head = ("id", "label", "language", "platform", "circles", "source")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
           for r in [head, *rows]]  # fmt: skip
    if found.unreadable:
        out.append(unreadable_line(found.unreadable))
    return out


async def unlink(redis: Redis, config: Config, room_id: str, days: int) -> str:
    """Remove the linked room ``room_id`` (RoomRefused: a file room, or none by that id)."""
    shown = printable(room_id, 64)
    if any(r.id == room_id for r in config.rooms) and not is_linked(config, room_id):
        raise RoomRefused(f"room {shown!r} is in the config file: remove it from rooms: and "
                          "from its circles there, then restart translocal run")  # fmt: skip
    if not await redis.hexists(keys.LINKED, room_id):
        raise RoomRefused(f"no linked room {shown!r} (see `translocal rooms list`)")
    keep = config.retention.message_map_days * 86400  # a retract still reaches its copies
    found = await LinkStore(redis, time.time).unlink(room_id, keep)
    circle = found.circle if found else "?"
    await Audit(redis, days).record(OPERATOR, room_id, "unlink", "done",
                                    detail=f"left circle {circle}, from the shell")  # fmt: skip
    where = f" from circle {circle}" if found else " (its record was unreadable)"
    return f"unlinked {room_id}{where}: the running bridge lets it go within a second"


class _Quoted(str):
    """A string the export always quotes (a chat id: YAML reads -100… as a number)."""


class _Dumper(yaml.SafeDumper):
    """SafeDumper that quotes ``_Quoted`` (a subclass: the global SafeDumper is untouched)."""


def _quoted(dumper: yaml.SafeDumper, value: _Quoted) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style='"')


_Dumper.add_representer(_Quoted, _quoted)


def export_text(config: Config, now: float) -> str:
    """The linked rooms laid over ``config`` as YAML to paste (comments say where)."""
    rooms = sorted(linked(config).values(), key=lambda r: r.room.id)
    if not rooms:
        return "# no linked rooms: nothing to export\n"
    entries: list[dict[str, Any]] = []
    for item in rooms:
        room = item.room
        entry: dict[str, Any] = {"id": room.id, "bot": room.bot, "chat": _Quoted(room.chat),
                                 "language": room.language, "label": room.label,
                                 "timezone": room.timezone}  # fmt: skip
        if room.topic is not None:
            entry["topic"] = room.topic
        entries.append(entry)
    body = yaml.dump({"rooms": entries}, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    circles: dict[str, list[str]] = {}
    for item in rooms:
        circles.setdefault(item.circle, []).append(item.room.id)
    head = [
        f"# Linked rooms, exported {day(now)}. Paste the entries under rooms: in the config",
        "# file, add each id to its circle's rooms list, then restart translocal run: the",
        "# file's rooms take over the linked ones.",
    ]
    tail = ["# circles: add to each circle's rooms list:"]
    tail += [f"#   {circle}: {', '.join(ids)}" for circle, ids in sorted(circles.items())]
    return "\n".join([*head, body.rstrip("\n"), *tail]) + "\n"


async def _with_redis(config: Config, work: Callable[[Redis], Awaitable[T]]) -> T:
    handle = await open_redis(config.redis, config.data_dir)
    try:
        return await work(handle.client)
    finally:
        await handle.close()


async def list_shell(config: Config) -> list[str]:
    async def work(redis: Redis) -> list[str]:
        found = await stored(redis)
        return table(config, found, laid(config, found))

    return await _with_redis(config, work)


async def unlink_shell(config: Config, room_id: str) -> str:
    async def work(redis: Redis) -> str:
        laid(config, await stored(redis))
        return await unlink(redis, config, room_id, config.retention.audit_days)

    return await _with_redis(config, work)


async def export_shell(config: Config, now: float) -> str:
    async def work(redis: Redis) -> str:
        laid(config, await stored(redis))
        return export_text(config, now)

    return await _with_redis(config, work)


def rooms_command(
    config_option: Decorator, guarded: Decorator, load: Callable[[Path], LoadedConfig]
) -> click.Group:
    """The ``rooms`` group, made with the CLI's ``-c`` option, error guard and loader (no
    bot secret needed) as ``bridge.ops.commands`` makes its commands."""

    @click.group()
    def rooms() -> None:
        """The config file's rooms and those linked from chat: list, unlink ID, export."""

    @rooms.command("list")
    @config_option
    @guarded
    def rooms_list(config_path: Path) -> None:
        """Every room: id, label, language, platform, circles, and config or who linked it."""
        for line in asyncio.run(list_shell(load(config_path).config)):
            click.echo(line)

    @rooms.command("unlink")
    @config_option
    @click.argument("room_id", metavar="ID")
    @guarded
    def rooms_unlink(config_path: Path, room_id: str) -> None:
        """Remove a room linked from chat (a config file room is refused: edit the file)."""
        click.echo(asyncio.run(unlink_shell(load(config_path).config, room_id)))

    @rooms.command("export")
    @config_option
    @guarded
    def rooms_export(config_path: Path) -> None:
        """Print the linked rooms as YAML to paste into the config file."""
        click.echo(asyncio.run(export_shell(load(config_path).config, time.time())), nl=False)

    return rooms
