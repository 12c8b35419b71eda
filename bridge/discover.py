"""``translocal discover``: the chats each configured bot sees now, to paste into the config.

Each platform lists them in its adapter (``Platform.discover``); this module asks every bot in
turn, prints a table (or, with ``--yaml``, a ``rooms:`` snippet with the language and label
left empty for the operator to fill), and decides the exit code: 0, or 4 when any bot could
not be asked (its token or login refused, its server unreachable, another reader holding a
Telegram bot's updates). A bot that fails is named on stderr and the others are still listed.

Chat titles, topic names and room names are set by whoever made the chat, so every cell is
passed through ``printable`` first: control characters (newlines, ANSI and OSC escape
sequences, C1 controls) and invisible format characters (bidi overrides and isolates) are
shown as ``\\uXXXX`` instead of reaching the operator's terminal, where they could repaint the
screen or disguise one chat as another.
"""

from __future__ import annotations

import re
import unicodedata

import click
import yaml

from bridge.app import adapters
from bridge.config.load import LoadedConfig
from bridge.model.errors import ServiceUnavailable
from bridge.model.platforms import SeenChat
from bridge.model.settings import BotSettings

LONGEST_TITLE = 60
_UNSAFE = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
_KEPT = {"\u200d"}  # the zero-width joiner holds emoji sequences together


def printable(text: str, limit: int | None = None) -> str:
    """``text`` on one line with nothing a terminal obeys: every control, format and
    separator character shown as ``\\uXXXX``; cut at ``limit`` characters with an ellipsis."""
    out = "".join(
        f"\\u{ord(c):04x}" if unicodedata.category(c) in _UNSAFE and c not in _KEPT else c
        for c in text
    )
    if limit is not None and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


async def run_discover(loaded: LoadedConfig, *, as_yaml: bool = False) -> int:
    """List every bot's chats; return the exit code (4 when a bot could not be asked)."""
    cfg = loaded.config
    code = 0
    seen: list[tuple[BotSettings, SeenChat]] = []
    platforms = adapters({bot.platform for bot in cfg.bots})
    for bot in cfg.bots:
        who = f"{bot.platform} bot {bot.id}"
        platform = platforms.get(bot.platform)
        if platform is None or platform.discover is None:
            click.echo(f"{who}: this platform cannot list its chats", err=True)
            continue
        try:
            chats = await platform.discover(bot)
        except ServiceUnavailable as exc:
            click.echo(f"{who}: {printable(_without(str(exc), who))}", err=True)
            code = ServiceUnavailable.exit_code
            continue
        if not chats:
            click.echo(f"{who}: sees no chat yet: add it to the group (or invite it), post a "
                       "message there, and run discover again", err=True)  # fmt: skip
        seen += [(bot, chat) for chat in chats]
    configured = {(r.bot, r.chat, r.topic): r.id for r in cfg.rooms}
    if as_yaml:
        _print_yaml(seen, configured)
    elif seen:
        _print_table(seen, configured)
    return code


def _without(detail: str, who: str) -> str:
    """The adapter's message without a "<platform> bot <id>: " it already carries."""
    return detail.removeprefix(f"{who}: ")


def _encryption(chat: SeenChat) -> str:
    if chat.encrypted is None:
        return "-"
    return "encrypted" if chat.encrypted else "not encrypted"


def _print_table(
    seen: list[tuple[BotSettings, SeenChat]], configured: dict[tuple[str, str, int | None], str]
) -> None:
    head = ("BOT", "CHAT", "TOPIC", "KIND", "STATUS", "ENCRYPTION", "ROOM", "TITLE")
    rows = [
        (
            bot.id,
            chat.chat,
            str(chat.topic) if chat.topic is not None else "-",
            chat.kind,
            chat.status,
            _encryption(chat),
            configured.get((bot.id, chat.chat, chat.topic), "-"),
            _label(chat),
        )
        for bot, chat in seen
    ]
    cells = [tuple(printable(c, LONGEST_TITLE) for c in row) for row in rows]
    widths = [max(len(row[i]) for row in [head, *cells]) for i in range(len(head) - 1)]
    for row in [head, *cells]:
        click.echo(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
        )


def _label(chat: SeenChat) -> str:
    title = chat.title or "(no name)"
    if chat.topic is None:
        return title
    return f"{title} / {chat.topic_name or '(topic name not seen)'}"


def _print_yaml(
    seen: list[tuple[BotSettings, SeenChat]], configured: dict[tuple[str, str, int | None], str]
) -> None:
    click.echo("# Paste under rooms: in your config, fill in each language (ISO 639-1, e.g. es)")
    click.echo("# and label (the short name other rooms see), and keep only the rooms you want.")
    click.echo("rooms:")
    ids: set[str] = set(configured.values())
    for bot, chat in seen:
        described = f"{printable(_label(chat), LONGEST_TITLE)} ({chat.kind}, {chat.status}"
        described += f", {_encryption(chat)})" if chat.encrypted is not None else ")"
        already = configured.get((bot.id, chat.chat, chat.topic))
        if already is not None:
            click.echo(f"  # {described}: already configured as room {printable(already)}")
            continue
        if chat.status != "member":
            described += ": the bot is not in it yet" if chat.status == "invited" else (
                ": the bot has left it")  # fmt: skip
        room: dict[str, object] = {
            "id": _room_id(bot.id, chat, ids),
            "bot": bot.id,
            "chat": int(chat.chat) if re.fullmatch(r"-?\d+", chat.chat) else chat.chat,
        }
        if chat.topic is not None:
            room["topic"] = chat.topic
        room.update(language="", label="")
        block = yaml.safe_dump([room], sort_keys=False, allow_unicode=False)
        click.echo(f"  # {described}")
        click.echo("".join(f"  {line}\n" for line in block.splitlines()), nl=False)


def _room_id(bot_id: str, chat: SeenChat, taken: set[str]) -> str:
    """A room id to start from: the title in ASCII letters and digits, else the bot's id."""
    words = unicodedata.normalize("NFKD", _label(chat)).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")[:40].strip("-") or bot_id
    found, n = base, 2
    while found in taken:
        found, n = f"{base}-{n}", n + 1
    taken.add(found)
    return found
