"""The answers ``translocal init`` takes, each checked by the rule the config loader applies.

Every check returns the cleaned value or raises ``ValueError`` with a message that reads after
the question's name (``--timezone: 'Europe/Berlim' is not a known timezone``): ``command``
shows it once and exits with flags, or asks the question again in a terminal. Chat ids are
checked by the platform's own registration (``bridge.model.platforms``), so a shape the
loader would refuse is refused here first; ``later`` stands for "not known yet".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.model.platforms import load
from translation.languages import check_language

PLATFORMS = ("telegram", "matrix", "both")
LATER = "later"
LABEL_MAX = 64  # RoomConfig.label


@dataclass(frozen=True)
class Answers:
    platforms: tuple[str, ...]  # "telegram", "matrix", or both, in that order
    label: str
    language: str
    timezone: str
    telegram_chat: str
    matrix_room: str
    matrix_user: str
    homeserver: str
    translation_url: str
    data_dir: str = "./translocal-data"

    @property
    def slug(self) -> str:
        return slug(self.label)


DEFAULTS = {
    "platform": "telegram",
    "label": "Local",
    "language": "en",
    "timezone": "UTC",
    "telegram_chat": LATER,
    "matrix_room": LATER,
    "matrix_user": "@translocal:example.org",
    "homeserver": "",  # from the user id's server
    "translation_url": "http://127.0.0.1:5000",
}


def platforms(value: str) -> tuple[str, ...]:
    choice = value.strip().lower()
    if choice not in PLATFORMS:
        raise ValueError(f"{value!r} is not one of {', '.join(PLATFORMS)}")
    return ("telegram", "matrix") if choice == "both" else (choice,)


def label(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("is empty")
    if "\n" in text or "\r" in text or any(unicodedata.category(c) == "Cc" for c in text):
        raise ValueError("must be one line, without control characters")
    if len(text) > LABEL_MAX:
        raise ValueError(f"is longer than {LABEL_MAX} characters")
    return text


def language(value: str) -> str:
    return check_language(value)


def timezone(value: str) -> str:
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"{name!r} is not a known timezone (e.g. Europe/Berlin)") from None
    return name


def chat(platform: str, value: str) -> str:
    """A chat id as the platform writes it, or ``later``."""
    text = value.strip()
    if text.lower() == LATER:
        return LATER
    registered = load(platform)
    why = registered.check_chat(text) if registered is not None else f"no {platform} adapter"
    if why is not None:
        raise ValueError(why)
    return text


def matrix_user(value: str) -> str:
    text = value.strip()
    registered = load("matrix")
    why = registered.check_person(text) if registered is not None else "no matrix adapter"
    if why is not None:
        raise ValueError(f"{text!r} is not a Matrix user id (@name:server)")
    return text


def folder(value: str) -> str:
    text = value.strip()
    if not text or any(unicodedata.category(c) == "Cc" for c in text):
        raise ValueError("must be a folder's path, on one line")
    return text


def url(value: str) -> str:
    text = value.strip()
    # no ${ } or quotes: the URL becomes the default of a ${VAR:-default} in the config
    if not re.fullmatch(r"https?://[^\s/${}\"'\\]+(/[^\s${}\"'\\]*)?", text):
        raise ValueError(f"{text!r} is not an http:// or https:// URL")
    return text.rstrip("/")


def homeserver_of(user_id: str) -> str:
    """The usual homeserver URL for a user id's server (``@x:example.org`` ->
    ``https://example.org``); a guess the operator confirms."""
    return f"https://{user_id.split(':', 1)[1]}"


def slug(text: str) -> str:
    """The label as an id part: ASCII letters and digits, ``-`` between words."""
    flat = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", flat).strip("-")[:40].strip("-") or "city"


def env_name(secret: str, label_slug: str) -> str:
    """``TELEGRAM_TOKEN`` and ``cdmx`` -> ``TELEGRAM_TOKEN_CDMX``: the naming the example
    config, ``deploy/.env.example`` and ``init`` share."""
    return f"{secret}_{label_slug.upper().replace('-', '_')}"
