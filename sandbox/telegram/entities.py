"""Message entities the way the Bot API counts them: UTF-16 offsets, trimming, auto-detection,
and the text builder the parse_mode parsers share.

Telegram measures every entity offset and length, and the 4096 / 1024 limits, in UTF-16 code
units, so an emoji outside the Basic Multilingual Plane counts as 2. Telegram also trims
leading and trailing whitespace from a text and finds commands, mentions, hashtags, URLs and
e-mail addresses in it by itself; this module does both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

ENTITY_TYPES = frozenset(
    {
        "mention",
        "hashtag",
        "cashtag",
        "bot_command",
        "url",
        "email",
        "phone_number",
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "blockquote",
        "expandable_blockquote",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
    }
)
# entities that own their characters: auto-detection never lays another entity over them
_OPAQUE = ENTITY_TYPES - {
    "bold",
    "italic",
    "underline",
    "strikethrough",
    "spoiler",
    "blockquote",
    "expandable_blockquote",
}

_DETECTORS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("url", re.compile(r"(?<![\w@/])(?:https?://|www\.)[^\s<>\"]+", re.IGNORECASE)),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("bot_command", re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")),
    ("mention", re.compile(r"(?<![\w@/])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
    ("cashtag", re.compile(r"(?<![\w$])\$[A-Z]{3,8}(?![\w$])")),
)
_URL_TAIL = ".,;:!?)'\""


def utf16_len(text: str) -> int:
    """How many UTF-16 code units `text` takes: what Telegram's offsets and limits count."""
    return len(text.encode("utf-16-le")) // 2


def utf16_offsets(text: str) -> list[int]:
    """For each index of `text` (and one past the end), its offset in UTF-16 code units."""
    offsets = [0] * (len(text) + 1)
    units = 0
    for index, char in enumerate(text):
        offsets[index] = units
        units += 2 if ord(char) > 0xFFFF else 1
    offsets[len(text)] = units
    return offsets


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of `text` an entity covers."""
    data = text.encode("utf-16-le")
    return data[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")


def sort_entities(entities: list[JSON]) -> list[JSON]:
    """Telegram's order: by offset, the longer (outer) entity first."""
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip leading and trailing whitespace as Telegram does, moving and clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def clean_entities(raw: object, text: str) -> list[JSON]:
    """Entities as a client gave them (a JSON list), checked and clipped to the text."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TypeError("entities must be an array")
    size = utf16_len(text)
    result: list[JSON] = []
    allowed = ("type", "offset", "length", "url", "user", "language", "custom_emoji_id")
    for item in raw:
        if not isinstance(item, dict) or item.get("type") not in ENTITY_TYPES:
            raise ValueError("entity type is not valid")
        offset, length = item.get("offset"), item.get("length")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0:
            raise ValueError("entity offset or length is not valid")
        length = min(length, size - offset)
        if length <= 0:
            continue
        entity = {key: item[key] for key in allowed if key in item}
        entity["offset"], entity["length"] = offset, length
        result.append(entity)
    return result


def detect(text: str, entities: list[JSON]) -> list[JSON]:
    """`entities` plus what Telegram finds in plain text (commands, mentions, URLs, ...),
    where it does not overlap an entity that owns its characters."""
    offsets = utf16_offsets(text)
    taken = [(e["offset"], e["offset"] + e["length"]) for e in entities if e["type"] in _OPAQUE]
    found = list(entities)
    for kind, pattern in _DETECTORS:
        for match in pattern.finditer(text):
            start, end = match.start(), match.end()
            if kind == "url":
                while end > start and text[end - 1] in _URL_TAIL:
                    end -= 1
            begin, finish = offsets[start], offsets[end]
            if finish <= begin or any(begin < b and a < finish for a, b in taken):
                continue
            taken.append((begin, finish))
            found.append({"type": kind, "offset": begin, "length": finish - begin})
    return sort_entities(found)


def command_of(text: str | None, entities: list[JSON]) -> tuple[str, str | None] | None:
    """The bot command a message starts with, as (command, addressed bot username or None)."""
    if not text:
        return None
    for entity in entities:
        if entity["type"] == "bot_command" and entity["offset"] == 0:
            command = utf16_slice(text, 0, entity["length"])
            name, _, target = command.partition("@")
            return name, target or None
    return None


# --- building parsed text (parse_mode) -------------------------------------------------------


class MarkupError(ValueError):
    """Text that does not parse; its message follows "Bad Request: can't parse entities: "."""


@dataclass
class Opened:
    """An entity whose start has been read and whose end has not."""

    tag: str
    argument: str | None
    offset: int  # UTF-16 offset in the output where the entity starts
    out_index: int  # how many output pieces existed when it opened
    begin: int  # index in the source of the start tag


class TextBuilder:
    """Plain text being built, with its UTF-16 length kept up to date."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.units = 0
        self.entities: list[JSON] = []

    def emit(self, text: str) -> None:
        self.pieces.append(text)
        self.units += utf16_len(text)

    def add(self, kind: str, offset: int, **extra: object) -> None:
        if self.units > offset:
            self.entities.append({"type": kind, "offset": offset, "length": self.units - offset})
            self.entities[-1].update(extra)

    def text(self) -> str:
        return "".join(self.pieces)


def normalize_url(url: str) -> str | None:
    """A text_link URL as Telegram stores it: with a scheme, and a path of at least "/"."""
    url = url.strip()
    if not url or any(c.isspace() for c in url):
        return None
    if "://" not in url and not url.startswith(("tg:", "mailto:")):
        url = "http://" + url
    scheme, _, rest = url.partition("://")
    if rest and "/" not in rest and "?" not in rest and "#" not in rest:
        url += "/"
    return url if scheme else None
