"""Load a YAML config: expand ``${VAR}``, validate every part, report every problem at once.

Each problem is one line, key path first: ``rooms[2].timezone: 'Europe/Berlim' is not a known
timezone (line 14)``. Field errors, platform settings errors and cross-reference errors are all
collected before anything is reported, so one run shows everything that needs fixing.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from bridge.config.crosscheck import crosscheck
from bridge.config.models import BotSettings, Config
from bridge.model.catalogs import CatalogError, Catalogs
from bridge.model.errors import ConfigError, ConfigProblem
from bridge.model.platforms import available, load, loaded
from translation.glossary import GlossaryError, load_glossary

Path_ = tuple[str | int, ...]

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path
    warnings: list[ConfigProblem] = field(default_factory=list)


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader of our own (the global SafeLoader is left untouched)."""


def _parse(text: str) -> tuple[Any, dict[Path_, int], list[ConfigProblem]]:
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    problems: list[ConfigProblem] = []

    def walk(n: yaml.Node, path: Path_) -> None:
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in n.value:
                key = key_node.value
                line = key_node.start_mark.line + 1
                if key in seen:
                    problems.append(
                        ConfigProblem(
                            format_path((*path, key)),
                            f"is given twice (lines {seen[key]} and {line}); keep one",
                            line,
                        )
                    )
                seen[key] = line
                walk(value_node, (*path, key))
                lines[(*path, key)] = line
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*path, i))

    if node is not None:
        walk(node, ())
    return data, lines, problems


def _expand(
    value: Any,
    path: Path_,
    env: Mapping[str, str],
    from_env: set[Path_],
    problems: list[ConfigProblem],
    literal_default: set[Path_],
) -> Any:
    """``${VAR}`` and ``${VAR:-default}`` from ``env``; records which paths came from the
    environment, and which wrote a literal default (a secret there is a literal secret)."""
    if isinstance(value, dict):
        return {
            k: _expand(v, (*path, k), env, from_env, problems, literal_default)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [
            _expand(v, (*path, i), env, from_env, problems, literal_default)
            for i, v in enumerate(value)
        ]
    if not isinstance(value, str) or "$" not in value:
        return value

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if default:  # a literal in the file, whether or not it is used: a secret there warns
            literal_default.add(path)
        from_env.add(path)
        if env.get(name):
            return env[name]
        if default is not None:  # unset or empty, as in the shell's ${VAR:-default}
            return default
        if name in env:
            return ""
        problems.append(
            ConfigProblem(
                format_path(path),
                f"environment variable {name} is not set "
                f"(write ${{{name}:-default}} for a default)",
            )
        )
        return ""

    return _VAR.sub(sub, value)


def _pydantic_problems(
    exc: ValidationError, prefix: Path_, model: type[BaseModel]
) -> list[ConfigProblem]:
    problems = []
    for err in exc.errors(include_url=False):
        inner: Path_ = tuple(p for p in err["loc"] if not _is_type_tag(p))
        loc: Path_ = (*prefix, *inner)
        kind = err["type"]
        msg = err["msg"]
        if kind == "missing":
            msg = "is required"
        elif kind == "extra_forbidden":
            msg = "is not a known key"
            close = difflib.get_close_matches(str(inner[-1]), _known_keys(model, inner[:-1]), n=1)
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


def _validate_bots(raw: Any, problems: list[ConfigProblem]) -> list[BotSettings]:
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
            problems.extend(_pydantic_problems(exc, ("bots", i), platform.settings))
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


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, expand, validate and cross-check a config file.

    Raises ConfigError listing every problem found; returns the config and its warnings.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(file), "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(str(file), f"cannot be read: {exc}")]) from None
    return load_config_text(text, file, os.environ if env is None else env)


def load_config_text(text: str, file: Path, env: Mapping[str, str]) -> LoadedConfig:
    try:
        data, lines, problems = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([ConfigProblem("(yaml)", f"not valid YAML: {reason}", line)]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem("(top level)", "must be a mapping of keys", 1)])

    from_env: set[Path_] = set()
    literal_default: set[Path_] = set()
    data = _expand(data, (), env, from_env, problems, literal_default)

    def literal(path: Path_) -> bool:
        return path not in from_env or path in literal_default

    bots = _validate_bots(data.get("bots"), problems)
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
    # in the order of the file, so that they can be fixed top to bottom
    problems = sorted(_with_lines(problems, lines), key=lambda p: p.line or 0)
    if problems or config is None:
        raise ConfigError(problems)

    if config.translation.glossary is not None:
        glossary_problem = _check_glossary(config.translation.glossary)
        if glossary_problem is not None:
            raise ConfigError(_with_lines([glossary_problem], lines))
    if config.translation.locale_dir is not None:
        catalog_problems = _check_catalogs(config.translation.locale_dir)
        if catalog_problems:
            raise ConfigError(_with_lines(catalog_problems, lines))

    warnings: list[ConfigProblem] = []
    _literal_secret_warnings(config, (), literal, warnings)
    if config.redis.url and urlsplit(config.redis.url).password and literal(("redis", "url")):
        warnings.append(
            ConfigProblem(
                "redis.url", "holds a literal password; prefer ${VAR} from the environment"
            )
        )
    return LoadedConfig(config, file, _with_lines(warnings, lines))
