"""Errors that map to the CLI's exit codes (the CLI alone decides to exit)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a config file: where, what, and the line when it is known."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line is not None else ""
        return f"{self.path}: {self.message}{where}"


class TranslocalError(Exception):
    """Base of the errors the CLI turns into an exit code and a one-line message."""

    exit_code = 1


class ConfigError(TranslocalError):
    """The configuration is invalid; ``problems`` lists every problem found."""

    exit_code = 3

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ServiceUnavailable(TranslocalError):
    """A service is unreachable or refused our credentials at start-up.

    Redis, a homeserver, the Bot API: the CLI exits 4.
    """

    exit_code = 4


class SchemaError(TranslocalError):
    """The data in Redis was written by a newer translocal, or an upgrade step failed."""

    exit_code = 1
