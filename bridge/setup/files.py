"""What ``translocal init`` writes: a commented config and the env file its secrets come from.

The YAML names every secret as ``${NAME}`` and holds none; the env file lists those names with
empty values, which the loader refuses (``is empty``) until they are filled. The env file is
created by ``os.open`` with mode 0600, so that it is never readable by others, not even for a
moment, and never through a symbolic link (a link planted there would carry the secrets
elsewhere). Nothing existing is overwritten without ``force``; both targets are checked before
either is written, so a refusal leaves nothing half-done.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from bridge.model.errors import TranslocalError
from bridge.setup.answers import LATER, Answers, env_name

CONFIG_NAME = "translocal.yaml"
ENV_NAME = "translocal.env"
CONFIG_MODE = 0o640  # no secret, but chat ids and moderators' ids: not for everyone
ENV_MODE = 0o600


class SetupError(TranslocalError):
    """``init`` refuses (a bad answer given as a flag, a file in the way): exit 2."""

    exit_code = 2


def targets(folder: Path) -> tuple[Path, Path]:
    return folder / CONFIG_NAME, folder / ENV_NAME


def preflight(folder: Path, *, force: bool) -> None:
    """Raise SetupError when writing into ``folder`` would fail or overwrite something."""
    if folder.exists() and not folder.is_dir():
        raise SetupError(f"{folder} is a file, not a folder")
    for target in targets(folder):
        if target.is_symlink():
            raise SetupError(f"{target} is a symbolic link; remove it, then run init again")
        if target.is_dir():
            raise SetupError(f"{target} is a folder")
        if target.exists() and not force:
            raise SetupError(f"{target} exists; --force overwrites it")


def write(folder: Path, answers: Answers, *, force: bool) -> tuple[Path, Path]:
    """Write both files into ``folder`` (created if missing); return their paths."""
    preflight(folder, force=force)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SetupError(f"{folder}: cannot create it ({exc.strerror})") from None
    config, env = targets(folder)
    _write_private(env, env_text(answers), ENV_MODE, force=force)
    _write_private(config, config_text(answers), CONFIG_MODE, force=force)
    return config, env


def _write_private(path: Path, text: str, mode: int, *, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise SetupError(f"{path} exists; --force overwrites it") from None
    except OSError as exc:
        raise SetupError(f"{path}: cannot write it ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), mode)  # an overwritten file keeps its old mode otherwise
        out.write(text)


def _quoted(value: str) -> str:
    """A YAML double-quoted scalar that the loader reads back as exactly ``value``: JSON's
    escapes are YAML's, and ``$`` is doubled so that no ``${VAR}`` is expanded from it."""
    return json.dumps(value.replace("$", "$$"), ensure_ascii=False)


def secrets(answers: Answers) -> list[tuple[str, str]]:
    """(variable name, what it holds) for every secret the config reads."""
    found = []
    if "telegram" in answers.platforms:
        found.append((env_name("TELEGRAM_TOKEN", answers.slug),
                      f"the Telegram bot token of tg-{answers.slug}, from BotFather"))  # fmt: skip
    if "matrix" in answers.platforms:
        found.append((env_name("MATRIX_PASSWORD", answers.slug),
                      f"the password of the Matrix account {answers.matrix_user}"))  # fmt: skip
    return found


def env_text(answers: Answers) -> str:
    lines = [
        f"# Secrets for {CONFIG_NAME}, written by `translocal init`. Keep this file mode 0600",
        "# and out of version control. One NAME=value a line, no quotes and no spaces around",
        "# '=': systemd (EnvironmentFile=), Docker Compose (env_file:) and a shell",
        f"# (set -a; . ./{ENV_NAME}; set +a) all read it. An empty value is refused.",
    ]
    for name, what in secrets(answers):
        lines += [f"# {what}", f"{name}="]
    return "\n".join(lines) + "\n"


def _room(room_id: str, bot_id: str, chat: str, platform: str, answers: Answers) -> list[str]:
    how = {
        "telegram": "a Telegram chat id such as -1001234567890 (or @username)",
        "matrix": "a Matrix room id (!id:server) or alias (#name:server)",
    }[platform]
    note = "FILL IN " if chat == LATER else ""
    return [
        f"  - id: {room_id}",
        f"    bot: {bot_id}",
        f"    chat: {_quoted(chat)}  # {note}{how}",
        f"    language: {answers.language}  # ISO 639-1: what its members write and read",
        f"    label: {_quoted(answers.label)}  # what other cities see in attributions",
        f"    timezone: {answers.timezone}  # IANA: call-outs in `local` mode fire by it",
    ]


def config_text(answers: Answers) -> str:
    s = answers.slug
    both = len(answers.platforms) == 2
    rooms = {p: (f"{s}-{p}" if both else s) for p in answers.platforms}
    out = [
        f"# Translocal configuration for {answers.label.replace(chr(10), ' ')}, written by "
        "`translocal init`.",
        "#",
        "# No secret is written here: each ${NAME} below is read from the environment, and",
        f"# {ENV_NAME} beside this file lists them. Fill it in, then check the whole setup:",
        f"#     set -a; . ./{ENV_NAME}; set +a",
        f"#     translocal check -c {CONFIG_NAME}",
        "# Every key is explained in the example config shipped with translocal",
        "# (bridge/examples/example.yaml) and in docs/install.md.",
        "",
        "# The embedded Redis, the Matrix device and crypto stores and the call-outs live here.",
        "# Back this folder up (docs/install.md, 'Backups').",
        f"data_dir: {_quoted(answers.data_dir)}",
        "",
        "redis:",
        "  # Empty: translocal runs its own private redis-server in data_dir. Docker Compose",
        "  # sets REDIS_URL to its Redis service.",
        "  url: ${REDIS_URL:-}",
        "",
        "bots:",
    ]
    if "telegram" in answers.platforms:
        out += [
            f"  - id: tg-{s}",
            "    platform: telegram",
            "    # Turn privacy mode off (BotFather, /setprivacy) or make the bot an admin.",
            f"    token: ${{{env_name('TELEGRAM_TOKEN', s)}}}",
            "    api_url: ${TELEGRAM_API_URL:-https://api.telegram.org}  # or your own server",
        ]
    if "matrix" in answers.platforms:
        out += [
            f"  - id: mx-{s}",
            "    platform: matrix",
            f"    homeserver: {_quoted(answers.homeserver)}",
            f"    user_id: {_quoted(answers.matrix_user)}  # an ordinary account for the bot",
            f"    password: ${{{env_name('MATRIX_PASSWORD', s)}}}",
            "    device_name: translocal  # keep it: the device holds the encryption keys",
        ]
    out += ["", "rooms:"]
    if "telegram" in answers.platforms:
        out += _room(rooms["telegram"], f"tg-{s}", answers.telegram_chat, "telegram", answers)
    if "matrix" in answers.platforms:
        out += _room(rooms["matrix"], f"mx-{s}", answers.matrix_room, "matrix", answers)
    out += ["", "# Rooms that share threads. A circle needs two rooms or more: add another",
            "# city's room above, then list it here."]  # fmt: skip
    if both:
        out += [
            "circles:",
            f"  - id: {s}",
            f"    rooms: [{rooms['telegram']}, {rooms['matrix']}]",
            "    relay: moderated  # only threads a moderator shares (/share) cross",
        ]
    else:
        out += [
            "circles: []",
            "#  - id: housing",
            f"#    rooms: [{rooms[answers.platforms[0]]}, another-city]",
            "#    relay: moderated   # only threads a moderator shares (/share) cross",
        ]
    out += [
        "",
        "# People with rights everywhere: telegram:<user id> or matrix:<@name:server>. Admins",
        "# of a Telegram group and Matrix users with power level 50 or more moderate their own",
        "# room anyway.",
        "moderators: []",
        "",
        "translation:",
        "  providers:",
        "    # Self-hosted LibreTranslate keeps every text on your server. Docker Compose sets",
        "    # LIBRETRANSLATE_URL to its LibreTranslate service.",
        "    - name: libretranslate",
        f"      url: ${{LIBRETRANSLATE_URL:-{answers.translation_url}}}",
        "",
    ]
    return "\n".join(out)
