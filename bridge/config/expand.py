"""``${VAR}``, ``${VAR:-default}`` and ``${file:PATH}`` in a config's string values.

``${VAR}`` reads the environment; ``${VAR:-default}`` takes the default when the variable is
unset or empty, as the shell does; ``$$`` is a literal ``$``. ``${file:PATH}`` reads a secret
from a file (Docker secrets, systemd credentials), with its trailing newline removed; a
relative PATH is read from the config file's folder. Each expansion records where it
happened, so that the loader can tell a secret from the environment or a file from a literal
one (which only warns), and so that commands which start no bot can do without the bots'
secrets.

A secret file is checked before it is read: it must be a regular file (``/dev/zero`` or a
FIFO would never end) of at most ``MAX_SECRET_BYTES``. Problems name the key path and the
file, never what the file holds. A file that every user of the machine may read is a
warning: anyone with a shell there can take the secret.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.config.yaml_safe import Path_, format_path
from bridge.model.errors import ConfigProblem

_REF = re.compile(r"\$\$|\$\{file:([^}]*)\}|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
MAX_SECRET_BYTES = 65_536


@dataclass
class Expansion:
    """What expanding a document found, by key path."""

    from_outside: set[Path_] = field(default_factory=set)  # a value from the env or a file
    literal_default: set[Path_] = field(default_factory=set)  # a ${VAR:-literal} in the file
    # a variable not set or a secret file not readable: an error, unless the command needs
    # no bot and the path is a bot's (the loader decides)
    unavailable: list[tuple[Path_, ConfigProblem]] = field(default_factory=list)
    warnings: list[ConfigProblem] = field(default_factory=list)


def expand(value: Any, env: Mapping[str, str], base: Path) -> tuple[Any, Expansion]:
    """``value`` with every reference replaced; ``base`` is the config file's folder."""
    found = Expansion()
    return _expand(value, (), env, base, found), found


def _expand(value: Any, path: Path_, env: Mapping[str, str], base: Path, found: Expansion) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, (*path, k), env, base, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*path, i), env, base, found) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        found.from_outside.add(path)
        if match.group(1) is not None:
            return _secret_file(match.group(1), path, base, found)
        name, default = match.group(2), match.group(3)
        if default:  # a literal in the file, whether or not it is used: a secret there warns
            found.literal_default.add(path)
        if env.get(name):
            return env[name]
        if default is not None:  # unset or empty, as in the shell's ${VAR:-default}
            return default
        if name in env:
            return ""
        found.unavailable.append(
            (
                path,
                ConfigProblem(
                    format_path(path),
                    f"environment variable {name} is not set "
                    f"(write ${{{name}:-default}} for a default)",
                ),
            )
        )
        return ""

    return _REF.sub(sub, value)


def _secret_file(written: str, path: Path_, base: Path, found: Expansion) -> str:
    file = Path(written.strip())
    if not file.is_absolute():
        file = base / file

    def unavailable(message: str) -> str:
        found.unavailable.append((path, ConfigProblem(format_path(path), message)))
        return ""

    if not written.strip():
        return unavailable("${file:} needs a path, e.g. ${file:/run/secrets/telegram_token}")
    try:
        info = file.stat()
        if not stat.S_ISREG(info.st_mode):
            return unavailable(f"the secret file {file} is not a regular file")
        if info.st_size > MAX_SECRET_BYTES:
            return unavailable(
                f"the secret file {file} is {info.st_size} bytes; a secret is at most "
                f"{MAX_SECRET_BYTES} (is it the right file?)"
            )
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as stream:
            data = stream.read(MAX_SECRET_BYTES + 1)
    except OSError as exc:
        return unavailable(f"cannot read the secret file {file}: {exc.strerror}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return unavailable(f"the secret file {file} is not UTF-8 text")
    if info.st_mode & stat.S_IROTH:
        found.warnings.append(
            ConfigProblem(
                format_path(path),
                f"the secret file {file} can be read by every user of this machine; "
                f"chmod 600 {file}",
            )
        )
    return text.rstrip("\r\n")
