"""Load a YAML config: expand ``${VAR}``, validate every part, report every problem at once.

Each problem is one line, key path first: ``rooms[2].timezone: 'Europe/Berlim' is not a known
timezone (line 14)``; the CLI prints it as ``FILE:14: rooms[2].timezone: ...`` (at most 50
lines, then a count). Field errors, platform settings errors and cross-reference errors are
all collected before anything is reported, so one run shows everything that needs fixing.
The file is bounded before it is parsed (``yaml_safe``: size, aliases, depth), references
are expanded by ``expand`` (``${VAR}``, ``${VAR:-default}``, ``${file:PATH}``), and relative
paths resolve against the config file's folder.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from bridge.config.crosscheck import crosscheck
from bridge.config.expand import expand
from bridge.config.models import BotSettings, Config
from bridge.config.yaml_safe import Path_, YamlRefused, format_path, parse, read_bounded
from bridge.model.catalogs import CatalogError, Catalogs
from bridge.model.errors import ConfigError, ConfigProblem
from bridge.model.platforms import available, load, loaded
from translation.glossary import GlossaryError, load_glossary

__all__ = ["ConfigFileError", "LoadedConfig", "format_path", "load_config", "load_config_text"]

M = TypeVar("M", bound=BaseModel)
MAX_ERROR_LINES = 50  # the CLI prints this many, then a count of the rest


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path
    warnings: list[ConfigProblem] = field(default_factory=list)


class ConfigFileError(ConfigError):
    """A ConfigError from one file: ``lines()`` is what the CLI prints, each problem prefixed
    with ``file:line:`` (an editor jumps there), at most ``MAX_ERROR_LINES`` of them."""

    def __init__(self, problems: list[ConfigProblem], file: Path) -> None:
        super().__init__(problems)
        self.file = file

    def lines(self, limit: int = MAX_ERROR_LINES) -> list[str]:
        out = []
        for p in self.problems[:limit]:
            where = f"{self.file}:{p.line}:" if p.line is not None else f"{self.file}:"
            out.append(f"{where} {p.message}" if p.path.startswith("(") else
                       f"{where} {p.path}: {p.message}")  # fmt: skip
        if len(self.problems) > limit:
            out.append(f"... and {len(self.problems) - limit} more")
        return out


def _pydantic_problems(
    exc: ValidationError, prefix: Path_, model: type[BaseModel]
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for err in exc.errors(include_url=False):
        inner: Path_ = tuple(p for p in err["loc"] if not _is_type_tag(p))
        loc: Path_ = (*prefix, *inner)
        kind = err["type"]
        msg = err["msg"]
        if kind == "missing":
            msg = "is required"
        elif kind == "extra_forbidden":
            msg = "is not a known key"
            close = []
            if len(problems) < MAX_ERROR_LINES:  # a suggestion for the lines that are shown
                known = _known_keys(model, inner[:-1])
                close = difflib.get_close_matches(str(inner[-1]), known, n=1)
            if close:
                msg += f"; did you mean {close[0]!r}?"
        elif msg.startswith(("Value error, ", "Assertion failed, ")):
            msg = msg.split(", ", 1)[1]
        shown = err.get("input")
        if (
            kind not in ("missing", "extra_forbidden")
            and isinstance(shown, str | int | float)
            and not _looks_secret(loc)
            and str(shown) not in msg
        ):
            msg = f"{msg} (got {shown!r})"
        problems.append(ConfigProblem(format_path(loc), msg))
    return problems


def _is_type_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part in ("str", "int", "none"))


def _looks_secret(loc: Path_) -> bool:
    if loc[:2] == ("redis", "url"):  # it may hold a password
        return True
    return bool(loc) and loc[-1] in (
        "token",
        "password",
        "access_token",
        "api_key",
        "pseudonym_key",
    )


def _known_keys(model: type[BaseModel], path: Path_) -> list[str]:
    """The keys a mapping at ``path`` below ``model`` may have."""
    for part in path:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        inner = _model_of(info.annotation) if info is not None else None
        if inner is None:
            return []
        model = inner
    return list(model.model_fields)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _validate_bots(raw: Any, problems: list[ConfigProblem], spared: set[str]) -> list[BotSettings]:
    """Each bot by its platform's settings model. Problems at ``spared`` paths (secrets a
    command that starts no bot may do without) are dropped, and such a bot is kept as given."""
    if not isinstance(raw, list):
        return []
    bots: list[BotSettings] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            problems.append(ConfigProblem(f"bots[{i}]", "must be a mapping with id and platform"))
            continue
        name = item.get("platform")
        platform = load(name) if isinstance(name, str) else None
        bot_id = str(item.get("id", f"#{i}"))
        if platform is None:
            choices = ", ".join(available())
            what = "is required" if name is None else f"{name!r} is not a known platform"
            problems.append(ConfigProblem(f"bots[{i}].platform", f"{what} (known: {choices})"))
            bots.append(BotSettings.model_construct(id=bot_id, platform=str(name)))
            continue
        try:
            bots.append(platform.settings.model_validate(item))
        except ValidationError as exc:
            found = _pydantic_problems(exc, ("bots", i), platform.settings)
            kept = [p for p in found if p.path not in spared]
            if not kept:
                bots.append(platform.settings.model_construct(**item))
                continue
            problems.extend(kept)
            bots.append(BotSettings.model_construct(id=bot_id, platform=platform.name))
    return bots


def _literal_secret_warnings(
    value: Any, path: Path_, literal: Callable[[Path_], bool], out: list[ConfigProblem]
) -> None:
    if isinstance(value, SecretStr):
        if literal(path):
            out.append(
                ConfigProblem(
                    format_path(path),
                    "is a literal secret in the config file (a ${VAR:-default} default counts); "
                    "prefer ${VAR} from the environment",
                )
            )
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _literal_secret_warnings(getattr(value, name), (*path, name), literal, out)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _literal_secret_warnings(item, (*path, i), literal, out)


def _with_lines(problems: list[ConfigProblem], lines: dict[Path_, int]) -> list[ConfigProblem]:
    by_text = {format_path(p): line for p, line in lines.items()}
    out = []
    for p in problems:
        if p.line is None:
            key = p.path
            while key and key not in by_text:
                parent = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", key)
                key = "" if parent == key else parent
            line = by_text.get(key)
            p = ConfigProblem(p.path, p.message, line)
        out.append(p)
    return out


def _check_glossary(path: Path) -> ConfigProblem | None:
    try:
        load_glossary(path)
    except GlossaryError as exc:
        where = f"{path} line {exc.line}" if exc.line else str(path)
        return ConfigProblem("translation.glossary", f"{where}: {exc}")
    return None


def _check_catalogs(folder: Path) -> list[ConfigProblem]:
    """The operator's .po files: each that does not parse or breaks a placeholder, by file,
    line and msgid (``check`` prints them, ``run`` refuses to start)."""
    if not folder.is_dir():
        return [ConfigProblem("translation.locale_dir", f"{folder} is not a folder")]
    try:
        Catalogs.load(folder)
    except CatalogError as exc:
        return [ConfigProblem("translation.locale_dir", str(p)) for p in exc.problems]
    return []


def load_config(
    path: str | Path, env: Mapping[str, str] | None = None, *, need_secrets: bool = True
) -> LoadedConfig:
    """Read, expand, validate and cross-check a config file.

    Raises ConfigFileError listing every problem found; returns the config and its warnings.
    With ``need_secrets=False`` (commands that start no bot: call-outs, audit, status, ...),
    a bot's variable that is not set or secret file that cannot be read is not an error;
    such a bot's settings are then not fully checked, and it must not be started.
    """
    file = Path(path)
    try:
        text = read_bounded(file)
    except FileNotFoundError:
        raise ConfigFileError([ConfigProblem("(file)", "no such file")], file) from None
    except YamlRefused as exc:
        raise ConfigFileError([ConfigProblem("(file)", exc.message)], file) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError([ConfigProblem("(file)", f"cannot be read: {exc}")], file) from None
    env = os.environ if env is None else env
    return load_config_text(text, file, env, need_secrets=need_secrets)


def load_config_text(
    text: str, file: Path, env: Mapping[str, str], *, need_secrets: bool = True
) -> LoadedConfig:
    """``load_config`` of a text read from ``file``; relative paths resolve against the
    file's folder (not the working directory, which differs between a shell and a service)."""
    try:
        data, lines, problems = parse(text)
    except YamlRefused as exc:
        raise ConfigFileError([ConfigProblem("(yaml)", exc.message, exc.line)], file) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problem = ConfigProblem("(yaml)", f"not valid YAML: {reason}", line)
        raise ConfigFileError([problem], file) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problem = ConfigProblem("(top level)", "must be a mapping of keys", 1)
        raise ConfigFileError([problem], file)

    base = Path(os.path.abspath(file)).parent
    data, found = expand(data, env, base)
    spared = {p for p, _ in found.unavailable if not need_secrets and p[:1] == ("bots",)}
    # a value that could not be read is reported once, as that (not also as "is empty")
    unavailable = {problem.path for _, problem in found.unavailable}

    def literal(path: Path_) -> bool:
        return path not in found.from_outside or path in found.literal_default

    bots = _validate_bots(data.get("bots"), problems, {format_path(p) for p in spared})
    config: Config | None = None
    try:
        config = Config.model_validate({**data, "bots": bots if bots else data.get("bots")})
    except ValidationError as exc:
        problems.extend(
            p for p in _pydantic_problems(exc, (), Config) if not p.path.startswith("bots[")
        )
    for key in ("moderators", "organizers"):  # their platforms' adapters check person ids
        people = data.get(key)
        for person in people if isinstance(people, list) else []:
            if isinstance(person, str) and ":" in person:
                load(person.partition(":")[0])
    problems.extend(crosscheck(data, loaded()))
    problems = [p for p in problems if p.path not in unavailable]
    problems.extend(problem for p, problem in found.unavailable if p not in spared)
    # in the order of the file, so that they can be fixed top to bottom
    problems = sorted(_with_lines(problems, lines), key=lambda p: p.line or 0)
    if problems or config is None:
        raise ConfigFileError(problems, file)

    config = resolve_paths(config, base)
    if config.translation.glossary is not None:
        glossary_problem = _check_glossary(config.translation.glossary)
        if glossary_problem is not None:
            raise ConfigFileError(_with_lines([glossary_problem], lines), file)
    if config.translation.locale_dir is not None:
        catalog_problems = _check_catalogs(config.translation.locale_dir)
        if catalog_problems:
            raise ConfigFileError(_with_lines(catalog_problems, lines), file)

    warnings: list[ConfigProblem] = list(found.warnings)
    _literal_secret_warnings(config, (), literal, warnings)
    if config.redis.url and urlsplit(config.redis.url).password and literal(("redis", "url")):
        warnings.append(
            ConfigProblem(
                "redis.url", "holds a literal password; prefer ${VAR} from the environment"
            )
        )
    return LoadedConfig(config, file, _with_lines(warnings, lines))


def resolve_paths(model: M, base: Path) -> M:
    """``model`` with every relative ``Path`` in it (data_dir, glossary, locale_dir, an
    adapter's own) made absolute against ``base``, the config file's folder."""
    update = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        resolved = _resolved(value, base)
        if resolved is not value:
            update[name] = resolved
    return model.model_copy(update=update) if update else model


def _resolved(value: Any, base: Path) -> Any:
    if isinstance(value, Path):
        return value if value.is_absolute() else base / value
    if isinstance(value, BaseModel):
        return resolve_paths(value, base)
    if isinstance(value, list):
        items = [_resolved(v, base) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value
