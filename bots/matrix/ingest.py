"""Matrix events in, envelopes out (pure functions over the event JSON; no I/O).

The event is read as the homeserver sent it (decrypted first when it was encrypted), and
every field is checked for its type: an event is someone else's JSON.

- m.text and m.emote are carried; an emote as its action alone, marked ``emote``: the relay
  names the actor as the target circle attributes people (never the display name or user id
  here, which would break anonymous and pseudonym circles). m.notice is not carried: bots
  and other bridges post notices, and those never re-enter the relay.
- Replies (m.in_reply_to, fallback stripped), threads (m.thread: a reply to the thread root,
  or to the event it genuinely replies to), edits (m.replace: the original's id, the text
  of m.new_content), redactions, reactions (m.annotation).
- Images, files, audio and video: the envelope carries a Media (with the duration in
  seconds where ``info.duration`` gives it in milliseconds); what to download is returned
  beside it (the adapter fetches, decrypts and stores the bytes).
- m.location: a ``geo:`` URI read into a Location; one that does not parse (out of range,
  not numbers, longer than ``GEO_CHARS``) is kept as an unusable one, so the copy is a note.
  Live locations (MSC3489 beacons) are state and beacon events, never carried.
- ``!cmd args`` and ``/cmd args`` are commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bots.matrix.html_reader import html_to_spans, strip_reply_fallback
from bots.matrix.settings import MAX_FILE
from bridge.model import media_note
from bridge.model.envelope import Envelope, Location, Media, MediaKind, Sender, Span

HTML = "org.matrix.custom.html"
_COMMAND = re.compile(r"^[!/]([A-Za-z0-9_]{1,32})(?:\s+(.*))?$", re.DOTALL)
GEO_CHARS = 256  # a longer geo: URI is not read (RFC 5870 URIs are short)
_GEO = re.compile(r"geo:(-?\d{1,3}(?:\.\d{1,15})?),(-?\d{1,3}(?:\.\d{1,15})?)(?:,[^;]*)?(?:;.*)?",
                  re.IGNORECASE | re.DOTALL)  # fmt: skip
UNUSABLE = Location(latitude=0.0, longitude=0.0, live=True)  # never crosses: a note instead
_MEDIA: dict[str, MediaKind] = {
    "m.image": "photo",
    "m.file": "file",
    "m.audio": "audio",
    "m.video": "video",
}


@dataclass(frozen=True)
class Fetch:
    """Where a message's file is: its mxc:// URL, and for an encrypted file the keys."""

    url: str
    file: dict[str, Any] | None = None  # the event's ``file`` object (key, iv, hashes)


@dataclass(frozen=True)
class Incoming:
    envelope: Envelope
    fetch: Fetch | None = None  # the file to download into ``envelope.media``


@dataclass(frozen=True)
class Where:
    """The event's context, from the adapter."""

    bot: str
    chat: str  # the configured chat string (an id or an alias), as the relay matches it
    own: str  # the bot's own user id: its events never re-enter
    encrypted: bool = False


def joined(where: Where, room_id: str) -> Envelope:
    """The bot itself is now in a configured room (the relay welcomes the room once)."""
    return Envelope(key=f"mx:{where.bot}:joined:{room_id}", kind="joined", bot=where.bot,
                    chat=where.chat, message_id="",
                    sender=Sender(id=f"matrix:{where.own}", is_bot=True))  # fmt: skip


def _s(value: object) -> str:
    return value if isinstance(value, str) else ""


def _d(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def read_event(
    event: dict[str, Any], where: Where, name: str, *, admin: bool = False
) -> Incoming | None:
    """The envelope an event makes, or None when it carries nothing to relay.

    ``name`` is the sender's display name in the room; ``admin``: the sender moderates it
    (power level 50 or more, or a creator of a room of version 12 or later)."""
    event_id, sender = _s(event.get("event_id")), _s(event.get("sender"))
    if not event_id or not sender or sender == where.own:
        return None
    kind = _s(event.get("type"))
    content = _d(event.get("content"))
    ts = event.get("origin_server_ts")
    base: dict[str, Any] = {
        "key": f"mx:{where.bot}:{event_id}",
        "bot": where.bot,
        "chat": where.chat,
        "sender": Sender(id=f"matrix:{sender}", name=name or sender),
        "encrypted": where.encrypted,
        "admin": admin,
    }
    if isinstance(ts, int | float) and not isinstance(ts, bool) and ts > 0:
        base["ts"] = ts / 1000
    if kind == "m.room.redaction":
        redacts = _s(event.get("redacts")) or _s(content.get("redacts"))
        return Incoming(Envelope(kind="delete", message_id=redacts, **base)) if redacts else None
    relation = _d(content.get("m.relates_to"))
    if kind == "m.reaction":
        target, key = _s(relation.get("event_id")), _s(relation.get("key"))
        if relation.get("rel_type") != "m.annotation" or not target or not key:
            return None
        return Incoming(Envelope(kind="reaction", message_id=target, reaction=key,
                                 reaction_id=event_id, **base))  # fmt: skip
    if kind == "m.sticker":
        return _media(content, "sticker", event_id, base, reply_to=_reply_to(relation))
    if kind != "m.room.message":
        return None
    if relation.get("rel_type") == "m.replace":
        original, new = _s(relation.get("event_id")), _d(content.get("m.new_content"))
        if not original or not new:
            return None
        return _edit(new, original, base)
    msgtype = _s(content.get("msgtype"))
    reply_to = _reply_to(relation)
    if msgtype == "m.notice" or not msgtype:
        return None  # bots' and bridges' notices never re-enter; an empty (redacted) event
    if msgtype == "m.location":
        return Incoming(Envelope(kind="message", message_id=event_id, reply_to=reply_to,
                                 location=read_geo(content), **base))  # fmt: skip
    if msgtype in _MEDIA:
        media_kind: MediaKind = _MEDIA[msgtype]
        if msgtype == "m.audio" and "org.matrix.msc3245.voice" in content:
            media_kind = "voice"
        return _media(content, media_kind, event_id, base, reply_to=reply_to)
    text, spans = _text(content, reply=reply_to is not None)
    if msgtype == "m.emote":
        base["emote"] = True
    elif msgtype == "m.text":
        command = _COMMAND.match(text)
        if command is not None:
            return Incoming(Envelope(
                kind="command", message_id=event_id, command=command.group(1).lower(),
                args=(command.group(2) or "").strip(), reply_to=reply_to, **base,
            ))  # fmt: skip
    if not text.strip():
        return None
    return Incoming(Envelope(
        kind="message", message_id=event_id, text=text, spans=spans, reply_to=reply_to, **base
    ))  # fmt: skip


def read_geo(content: dict[str, Any]) -> Location:
    """The place of an m.location event (its ``geo_uri``, or MSC3488's ``uri``), the
    description as its title; UNUSABLE when it does not parse within range."""
    extensible = _d(content.get("org.matrix.msc3488.location"))
    uri = _s(content.get("geo_uri")) or _s(extensible.get("uri"))
    found = _GEO.fullmatch(uri) if len(uri) <= GEO_CHARS else None
    if found is None:
        return UNUSABLE
    title = _s(extensible.get("description"))
    return Location.of(float(found.group(1)), float(found.group(2)), title) or UNUSABLE


def _reply_to(relation: dict[str, Any]) -> str | None:
    """The event this one replies to: m.in_reply_to, or in a thread the root unless the
    reply is a genuine one (not the fallback that thread-unaware clients show)."""
    reply = _s(_d(relation.get("m.in_reply_to")).get("event_id"))
    if relation.get("rel_type") == "m.thread":
        root = _s(relation.get("event_id"))
        if not reply or relation.get("is_falling_back") is True:
            return root or None
    return reply or None


def _text(content: dict[str, Any], *, reply: bool) -> tuple[str, tuple[Span, ...]]:
    formatted = content.get("formatted_body")
    if content.get("format") == HTML and isinstance(formatted, str):
        return html_to_spans(formatted)
    body = _s(content.get("body"))
    return (strip_reply_fallback(body) if reply else body), ()


def _edit(new: dict[str, Any], original: str, base: dict[str, Any]) -> Incoming | None:
    msgtype = _s(new.get("msgtype"))
    if msgtype == "m.notice":
        return None
    text, spans = _text(new, reply=False)
    if msgtype == "m.emote":
        base = {**base, "emote": True}
    if msgtype in _MEDIA:  # a new caption: the file stays as it was
        text, spans = _caption(new)
    if not text.strip():
        return None
    return Incoming(Envelope(kind="edit", message_id=original, text=text, spans=spans, **base))


def _caption(content: dict[str, Any]) -> tuple[str, tuple[Span, ...]]:
    """A file's caption: the body when a separate ``filename`` is given and differs."""
    filename, body = _s(content.get("filename")), _s(content.get("body"))
    if not filename or body == filename:
        return "", ()
    return _text(content, reply=False)


def _media(
    content: dict[str, Any],
    kind: MediaKind,
    event_id: str,
    base: dict[str, Any],
    *,
    reply_to: str | None,
) -> Incoming | None:
    info = _d(content.get("info"))
    encrypted_file = _d(content.get("file"))
    url = _s(encrypted_file.get("url")) if encrypted_file else _s(content.get("url"))
    name = _s(content.get("filename")) or _s(content.get("body"))
    size = _int(info.get("size")) or 0
    media = Media(
        kind=kind,
        name=name[:200] if kind == "file" else "",
        mime=_s(info.get("mimetype"))[:100],
        size=size,
        width=_int(info.get("w")),
        height=_int(info.get("h")),
        emoji=_s(content.get("body"))[:16] if kind == "sticker" else "",
        duration=(_int(info.get("duration")) or 0) // 1000 or None,
    )
    text, spans = _caption(content) if kind != "sticker" else ("", ())
    fetch: Fetch | None = None
    if not url.startswith("mxc://"):
        media = media.model_copy(update={"note": media_note.NO_FILE})
    elif size > MAX_FILE:
        media = media.model_copy(update={"note": media_note.TOO_LARGE})
    else:
        fetch = Fetch(url, encrypted_file or None)
    envelope = Envelope(kind="message", message_id=event_id, text=text, spans=spans,
                        reply_to=reply_to, media=media, **base)  # fmt: skip
    return Incoming(envelope, fetch)
