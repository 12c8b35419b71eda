"""Settings every adapter sees: a bot's base settings, a room, and the secret type.

A platform adapter subclasses ``BotSettings`` with its own fields and registers it (see
``bridge.model.platforms``); ``RoomConfig`` is what a bot is told of each room it serves.
The rest of the configuration (circles, retention, translation, call-outs) lives in
``bridge.config``, which adapters never read.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import regex
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
)

from translation.languages import check_language

# Values people leave in from a template. A secret that still holds one is an error, not a
# warning: the bridge would only fail later, at the platform, with a vaguer message.
_PLACEHOLDERS = re.compile(
    r"^(changeme|change[-_ ]?me|replace[-_ ]?me|todo|xxx+|\.\.\.|<.*>|your[-_ ].*|secret|"
    r"password|token|api[-_]?key|123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11)$",
    re.IGNORECASE,
)


def _not_placeholder(value: SecretStr) -> SecretStr:
    raw = value.get_secret_value()
    if not raw.strip():
        raise ValueError("is empty")
    if _PLACEHOLDERS.match(raw.strip()):
        raise ValueError("still holds a placeholder value; put the real secret in the environment")
    return value


Secret = Annotated[SecretStr, AfterValidator(_not_placeholder)]


def _check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a known timezone") from None
    return name


Language = Annotated[str, AfterValidator(check_language)]
Timezone = Annotated[str, AfterValidator(_check_timezone)]
Identifier = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
]


def _chat_to_str(value: Any) -> Any:
    # An unquoted Telegram id is read by YAML as an integer; keep every chat as a string.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


class Model(BaseModel):
    """A config section: unknown keys are errors, and nothing changes once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BotSettings(Model):
    """What every bot has. Each platform adapter subclasses this with its own settings."""

    id: Identifier
    platform: str


MAX_FILTERS = 100  # word filter terms in one room (config and chat together)


def _check_filter(terms: list[str]) -> list[str]:
    """A word filter term is a word or phrase, or ``/a regular expression/`` that compiles
    (with the ``regex`` module, as bridge.moderation.filters matches it)."""
    for term in terms:
        if not term.strip():
            raise ValueError("a filter term is empty")
        if len(term) > 2 and term.startswith("/") and term.endswith("/"):
            try:
                regex.compile(term[1:-1])
            except regex.error as exc:
                msg = f"{term!r} does not compile: {exc}"  # "... at position N"
                raise ValueError(msg) from None
    return terms


# words ``callout add`` reads where a room's id may stand: a room so named could not be named
CALLOUT_WORDS = ("local", "instant", "rsvp")


class RoomConfig(Model):
    id: Identifier
    bot: str
    chat: Annotated[str, BeforeValidator(_chat_to_str), Field(min_length=1)]
    language: Language
    label: str = Field(min_length=1, max_length=64)
    timezone: Timezone = "UTC"
    topic: int | None = Field(default=None, ge=1)
    send: bool = True
    receive: bool = True
    # incoming copies matching one of these are held for the room's moderators
    filter: Annotated[list[str], AfterValidator(_check_filter)] = Field(
        default_factory=list, max_length=MAX_FILTERS
    )

    @field_validator("id")
    @classmethod
    def _not_a_callout_word(cls, room_id: str) -> str:
        if room_id.lower() in CALLOUT_WORDS:
            raise ValueError(f"{room_id!r} is a word of the chat command 'callout add', which "
                             "could not name this room; choose another id")  # fmt: skip
        return room_id
