"""Attribution: who said it and where, by the circle's template (never hard-coded).

``{name}`` is the sender's display name, ``{room}`` the origin room's label, ``{platform}``
its platform, ``{pseudonym}`` a per-circle keyed hash of the sender's id; an anonymous
circle shows the room only.

A display name is the sender's to choose, so it is normalized before it is shown
(``display_name``): one line, without control or bidi characters, at most 64 characters, and
never the call-out marker. A name that reads as the bridge's own call-out heading is quoted,
so that "Call-out" from CDMX shows as '"Call-out" (CDMX)', never as the heading of a call-out
scheduled there.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import unicodedata

from bridge.config.models import CircleConfig, RoomConfig
from bridge.model.catalogs import active
from bridge.model.compose import one_line, shorten, unmarked
from bridge.model.envelope import Sender, Span
from bridge.model.i18n import _, render

MAX_NAME = 64  # characters of a display name shown in an attribution
# The bridge's own heading (bridge.callouts.text.heading, without a room): a name that
# contains its words, in English or in any language the catalogs have, is quoted.
HEADING = _("Call-out")
_headings: dict[int, frozenset[str]] = {}


def pseudonym(key: bytes, circle: str, sender: str) -> str:
    """A stable pseudonym per person per circle; without the key, not linkable to the person."""
    digest = hmac.new(key, f"{circle}\0{sender}".encode(), hashlib.sha256).digest()
    return "anon-" + base64.b32encode(digest[:5]).decode().lower()


def _letters(text: str) -> str:
    """Only the letters and digits, case and compatibility forms folded: "CALL-OUT!", with
    any dash, and its fullwidth look-alike read as "callout"."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


def _heading_words() -> frozenset[str]:
    """The heading's words as letters, in English and in each catalog's language."""
    catalogs = active()
    key = id(catalogs)
    if key not in _headings:
        languages = ["en", *catalogs.languages()]
        words = {_letters(render(HEADING, language)) for language in languages}
        _headings.clear()
        _headings[key] = frozenset(word for word in words if word)
    return _headings[key]


def display_name(name: str) -> str:
    """The name as an attribution shows it: one line, no controls or bidi characters, no
    call-out marker, at most ``MAX_NAME`` characters (cut with an ellipsis); quoted when it
    reads as a heading of the bridge's own. "" when nothing visible is left."""
    return _display_name(name, id(active()))


@functools.lru_cache(maxsize=4096)  # the same few names, message after message
def _display_name(name: str, catalogs: int) -> str:
    shown = one_line(unmarked(name)[0])
    impersonates = any(words in _letters(shown) for words in _heading_words())
    room = MAX_NAME - 2 if impersonates else MAX_NAME
    shown = shorten(shown, room, len)
    return f'"{shown}"' if impersonates and shown else shown


def attribution(
    circle: CircleConfig, room: RoomConfig, platform: str, sender: Sender, key: bytes | None
) -> str:
    if circle.anonymous:
        return room.label
    values = {
        "name": display_name(sender.name) or "someone",
        "room": room.label,
        "platform": platform,
        "pseudonym": pseudonym(key, circle.id, sender.id) if key else "",
    }
    return circle.attribution.format_map(values)


def acted(actor: str, text: str, spans: tuple[Span, ...]) -> tuple[str, tuple[Span, ...]]:
    """An action (an emote) as "* <actor> <text>", its spans moved along."""
    prefix = f"* {actor} "
    shift = len(prefix)
    moved = tuple(s.model_copy(update={"start": s.start + shift, "end": s.end + shift})
                  for s in spans)  # fmt: skip
    return prefix + text, moved
