"""The neutral model every adapter speaks: inbound envelopes and outbound deliveries.

Stream entries hold these as JSON (one ``data`` field), readable with ``redis-cli``.
Offsets in spans count Python characters (code points); adapters convert from and to what
their platform counts (UTF-16 code units on Telegram).
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bridge.model import media_note
from bridge.model.settings import RoomConfig

Kind = Literal["message", "edit", "delete", "reaction", "command", "joined", "vote"]
SpanKind = Literal[
    "bold", "italic", "underline", "strike", "code", "pre", "link", "mention", "spoiler"
]
Action = Literal["send", "edit", "delete"]
MediaKind = Literal["photo", "file", "voice", "sticker", "video", "audio", "animation"]


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def whole_text(value: str) -> str:
    """Text that can be written out: a lone surrogate (a broken UTF-16 half, which a
    platform's JSON can carry) becomes U+FFFD, as a client shows it, instead of making the
    envelope impossible to store."""
    return _LONE_SURROGATE.sub("\ufffd", value) if _LONE_SURROGATE.search(value) else value


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


def _whole(value: object) -> object:
    if isinstance(value, str) and _LONE_SURROGATE.search(value):  # one call: it runs per field
        return _LONE_SURROGATE.sub("\ufffd", value)
    return value


class Sender(_Frozen):
    id: str  # "<platform>:<user id>", e.g. "telegram:2001" or "matrix:@ana:example.org"
    name: str = ""
    is_bot: bool = False

    _whole_name = field_validator("name", mode="before")(_whole)


class Span(_Frozen):
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    kind: SpanKind
    url: str | None = None

    _whole_url = field_validator("url", mode="before")(_whole)


class MsgRef(_Frozen):
    """A message of a configured room: the room's config id and the platform's message id."""

    room: str
    id: str

    def __str__(self) -> str:
        return f"{self.room}/{self.id}"


class Media(_Frozen):
    """What a message carries besides text. The bytes, when carried, wait in Redis under
    ``blob`` (see bridge.model.media); when not, ``note`` says why, and copies show it instead."""

    kind: MediaKind
    name: str = ""  # the file name the sender gave, if any
    mime: str = ""
    size: int = Field(default=0, ge=0)  # bytes
    width: int | None = None
    height: int | None = None
    emoji: str = ""  # a sticker's emoji
    duration: int | None = None  # seconds, for video and audio, where the platform says
    blob: str = ""  # the Redis key of the bytes; "" when they are not carried
    note: str = ""  # why not carried: a reason code of bridge.model.media_note

    _whole_names = field_validator("name", "mime", "emoji", mode="before")(_whole)

    def describe(self, reason: str = "", language: str = "en") -> str:
        """The honest note a copy shows in place of the media, in the target room's
        ``language``: "[photo, 12 MB, too large to carry]", "[Foto, 12 MB, zu groß ...]".
        ``reason`` (a code of ``bridge.model.media_note``) says why the sending adapter could
        not carry it; without one, ``note`` says why the file never came in."""
        return media_note.note(self.kind, language, reason=reason or self.note, name=self.name,
                               emoji=self.emoji, size=self.size)  # fmt: skip


LABEL_CHARS = 256  # a venue's title or address is cut to this many characters


class Location(_Frozen):
    """A place a message shares: a point, with a venue's title and address when it is one.
    Crosses only where the circle says ``carry_locations: true``, and a live location never
    does (the relay puts a note in its place). Built through ``Location.of``, which refuses
    what is out of range instead of failing the envelope: a place is someone else's JSON."""

    latitude: float = Field(ge=-90.0, le=90.0)
    longitude: float = Field(ge=-180.0, le=180.0)
    title: str = Field(default="", max_length=LABEL_CHARS)
    address: str = Field(default="", max_length=LABEL_CHARS)
    live: bool = False  # a live location, or one that could not be read: it never crosses

    _whole_labels = field_validator("title", "address", mode="before")(_whole)

    @classmethod
    def of(
        cls, latitude: object, longitude: object, title: object = "", address: object = "",
        *, live: bool = False,
    ) -> Location | None:  # fmt: skip
        """The location, or None when the coordinates are not numbers within range."""
        lat, lon = _coordinate(latitude, 90.0), _coordinate(longitude, 180.0)
        if lat is None or lon is None:
            return None
        return cls(latitude=lat, longitude=lon, live=live,
                   title=title[:LABEL_CHARS] if isinstance(title, str) else "",
                   address=address[:LABEL_CHARS] if isinstance(address, str) else "")  # fmt: skip


def _coordinate(value: object, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return number if -bound <= number <= bound else None  # NaN and infinities fail too


# A poll's limits across the network: Telegram's sendPoll ones (python-telegram-bot's
# PollLimit, Bot API 9.x: a question of 1-300 characters, 2-12 options of 1-100), the strictest;
# Matrix copies keep them too, so that every room votes on the same options. What an adapter
# reads is first cut to POLL_READ options (MSC3381 allows 20) of POLL_READ_CHARS each.
POLL_QUESTION, POLL_OPTION, POLL_OPTIONS, POLL_READ, POLL_READ_CHARS = 300, 100, 12, 20, 1200


class Poll(_Frozen):
    """A native poll, as a member posted it or as a copy shows it. Built by adapters through
    ``Poll.of``, which cuts what is far too long instead of failing the envelope (a poll is
    someone else's JSON); the relay shortens to the network's limits, with a note."""

    question: str = ""
    options: tuple[str, ...] = ()
    multiple: bool = False  # members may pick several options
    anonymous: bool = True  # the platform hides who voted for what

    _whole_question = field_validator("question", mode="before")(_whole)

    @field_validator("options", mode="before")
    @classmethod
    def _whole_options(cls, value: object) -> object:
        return tuple(_whole(v) for v in value) if isinstance(value, list | tuple) else value

    @classmethod
    def of(cls, question: object, options: object, *, multiple: bool = False,
           anonymous: bool = True) -> Poll:  # fmt: skip
        texts = [o for o in options if isinstance(o, str)] if isinstance(options, list) else []
        return cls(question=question[:POLL_READ_CHARS] if isinstance(question, str) else "",
                   options=tuple(o[:POLL_READ_CHARS] for o in texts[:POLL_READ]),
                   multiple=multiple, anonymous=anonymous)  # fmt: skip


class Ballot(_Frozen):
    """What a ``vote`` envelope says about a poll copy (its ``message_id``): one member's
    latest choice (``choices``, option indices: a Matrix poll response, ``vote N``), or the
    platform's own per-option totals (``counts``: Telegram counts its polls itself)."""

    choices: tuple[int, ...] = ()
    counts: tuple[int, ...] | None = None
    voters: int = Field(default=0, ge=0)  # with counts: how many people voted
    closed: bool = False  # the poll was closed (Telegram is_closed, Matrix poll.end)


class Quoted(_Frozen):
    """The message a command replies to, as the platform showed it with the command (Telegram
    does): so that ``share`` can carry a message older than the recent-messages buffer."""

    message_id: str
    sender: Sender
    text: str = ""
    spans: tuple[Span, ...] = ()
    ts: float = 0.0

    _whole_text = field_validator("text", mode="before")(_whole)


def plain_emoji(emoji: str) -> str:
    """An emoji as the bridge compares them: without the variation selector (🕊️ is 🕊)."""
    return emoji.replace("\ufe0f", "").strip()


class Envelope(_Frozen):
    """One normalized inbound event from a chat."""

    key: str  # stable per platform event: re-ingesting the same event gives the same key
    kind: Kind
    bot: str  # the config id of the bot that saw it
    chat: str
    topic: int | None = None
    message_id: str  # the message; for edit, delete and reaction: the message acted upon
    sender: Sender
    text: str = ""
    spans: tuple[Span, ...] = ()
    reply_to: str | None = None  # platform id of the message this one replies to
    reaction: str | None = None
    # every reaction the member shows now, where a platform lets one show several at once
    # (Telegram Premium); ``reaction`` is the first of them
    reactions: tuple[str, ...] = Field(default=(), max_length=16)
    reaction_id: str | None = None  # a reaction's own id, where its removal deletes it (Matrix)
    command: str | None = None
    args: str = ""
    media: Media | None = None
    location: Location | None = None
    quoted: Quoted | None = None  # a command's replied-to message, when the platform gives it
    poll: Poll | None = None  # a message that is a poll
    ballot: Ballot | None = None  # a vote envelope's vote or counts
    encrypted: bool = False
    # an action (Matrix /me): ``text`` is the action alone; the relay puts the actor in front,
    # as the target circle attributes people (a name, a pseudonym, or none)
    emote: bool = False
    admin: bool = False  # the platform says the sender administers this chat (moderator right)
    ts: float = Field(default_factory=time.time)  # when the platform says it happened
    received: float = Field(default_factory=time.time)  # when the bridge took it in

    _whole_text = field_validator("text", "args", "reaction", "command", mode="before")(_whole)

    @property
    def shown(self) -> tuple[str, ...]:
        """Every reaction the member shows now: ``reactions`` where the platform gives them
        all, else the one ``reaction`` ("" when she took it back)."""
        return self.reactions or (() if self.reaction is None else (self.reaction,))


class Delivery(_Frozen):
    """One outbound job for one room, as the relay puts it in the bot's outbox."""

    key: str  # idempotency key: one delivery, however often the entry is read
    action: Action
    bot: str
    room: str
    chat: str
    topic: int | None = None
    origin: MsgRef  # the origin message this copy stands for
    reply_to: MsgRef | None = None  # the origin-level message to reply to, resolved per room
    attribution: str = ""
    text: str = ""
    spans: tuple[Span, ...] = ()
    media: Media | None = None  # the adapter sends it, or its describe() note when it cannot
    location: Location | None = None  # only where the circle carries locations
    poll: Poll | None = None  # a poll copy: sent as a native poll where the platform can
    language: str = ""  # of the target room
    source_language: str = ""  # what the text was taken to be in
    translated: bool = False  # text is a translation from source_language: say so
    untranslated: bool = False  # it should have been translated and was not: say so
    original: str = ""  # the original, shown below the translation (show_original)
    received: float = 0.0  # when the origin envelope was taken in (relay lag)
    notice: bool = False  # the bridge's own notice: no message map, no notice of its failure
    pin: bool = False  # pin the copy where the platform allows (call-outs with pin: true)
    # from an end-to-end-encrypted room whose circle keeps it in encrypted rooms: checked
    # again when sent (the deliverer, the adapter), since a room can stop being encrypted
    keep_encrypted: bool = False
    # a call-out: headed by the marker that nothing else shows, and a notice on Matrix
    callout: bool = False

    # a translation provider's answer may carry a lone surrogate too
    _whole_text = field_validator("text", "original", "attribution", mode="before")(_whole)

    @classmethod
    def to(cls, room: RoomConfig, **fields: Any) -> Delivery:
        """A delivery into ``room``: its bot, chat and topic filled in."""
        return cls(bot=room.bot, room=room.id, chat=room.chat, topic=room.topic, **fields)

    def sibling(self, room: RoomConfig, **fields: Any) -> Delivery:
        """Another copy of the same origin, into ``room``: what differs from room to room is
        given, the rest (action, origin, reply, media, times) is this one's. The fields come
        from where this one's came from (a validated envelope, the config, the translator),
        so they are not validated again, which was a third of the relay's planning time;
        only what a provider may break is mended (a lone surrogate in its answer).
        tests/bridge/test_envelope.py holds a sibling equal to the delivery built whole."""
        for name in ("text", "original", "attribution"):
            if name in fields:
                fields[name] = whole_text(fields[name])
        fields.update(bot=room.bot, room=room.id, chat=room.chat, topic=room.topic)
        return self.model_copy(update=fields)
