"""Hostile messages, and what a member would see of a copy of one.

The strategy draws what strangers and broken clients can put in a message: control
characters, right-to-left overrides and invisible marks, lone surrogates, texts of 100 KB,
markup meant for either platform (Telegram's HTML and MarkdownV2, Matrix's HTML, reply
fallbacks, script), and Telegram entities that are malformed (offsets inside a surrogate
pair or past the end, negative or non-integer lengths, unknown types, hostile link targets).

The checks read a copy the way a client shows it, independently of the code under test: the
text must be the sender's, character for character, and every tag must stand where a span of
the sender's formatting (or the bridge's own attribution, footer and quoted original) put
it. A ``<b>`` typed by a member is text in the copy, never bold.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import strategies as st

from bridge.model.compose import footer, headings
from bridge.model.envelope import Delivery, MsgRef, Span
from translation.detect import SHIPPED

# ---- the pieces hostile text is made of ------------------------------------------------------

CONTROLS = [chr(c) for c in range(32)] + ["\x7f", "\x80", "\x85", "\x9f", "\u2028", "\u2029"]
BIDI = list("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
INVISIBLE = list("\u200b\u200c\u200d\u2060\u00ad\u034f\ufeff\ufffe\uffff")
LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d", "\ude00"]
CLUSTERS = ["👩‍👩‍👧", "🇩🇪", "✊🏽", "e\u0301", "🏴‍☠️", "\r\n", "ก\u0e34", "😀", "🕊"]
TELEGRAM_MARKUP = [
    "<b>",
    "</b>",
    "<i>x</i>",
    "<u>",
    "<s>",
    "<code>",
    "<pre>",
    '<pre><code class="language-python">',
    "<tg-spoiler>",
    "<blockquote expandable>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="https://evil.example/">click</a>',
    '<a href="tg://user?id=1">admin</a>',
    '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
    "*bold*",
    "_italic_",
    "__underline__",
    "~strike~",
    "||spoiler||",
    "`code`",
    "```pre```",
    "[link](https://evil.example)",
    "[x](tg://user?id=1)",
    "\\*",
    "&lt;b&gt;",
    "&amp;",
    "&",
    "&#60;b&#62;",
    "&#x3C;",
    "&nbsp;",
]
MATRIX_MARKUP = [
    "<mx-reply><blockquote>fake quote</blockquote></mx-reply>",
    '<a href="https://matrix.to/#/@admin:example.org">admin</a>',
    '<a href="mxc://example.org/abc">file</a>',
    "<script>alert(1)</script>",
    "<style>*{display:none}</style>",
    "<img src=x onerror=alert(1)>",
    '<font color="red" data-mx-bg-color="#000">',
    "<span data-mx-spoiler>",
    "<del>",
    "<h1>",
    "<table><tr><td>",
    "<details><summary>",
    "<ol start=99><li>",
    "<br>",
    "<br/>",
    "<!--",
    "-->",
    "<![CDATA[",
    "<![<![",
    "<a ",
    "</",
    "<",
    ">",
    '"',
    "'",
    "@room",
]
WORDS = [
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    ". ",
    "! ",
    "。",
    "word",
    "Bloqueo mañana",
    'http://x.example/a?b=<c>&d="e"',
    "https://x.example/",
    "@admin",
    "#huelga",
    "/share",
    "!retract",
]
PIECES = CONTROLS + BIDI + INVISIBLE + CLUSTERS + TELEGRAM_MARKUP + MATRIX_MARKUP + WORDS
PIECES_WITH_SURROGATES = PIECES + LONE_SURROGATES

BIG = 100_000  # characters in a big text: 100 KB and more once encoded


def _weave(codes: bytes, free: str, pieces: Sequence[str]) -> str:
    """A text from one draw of bytes and one of Unicode: each byte below 224 picks a piece,
    each one above takes the next few characters of ``free``. (Two draws per text instead of
    one per piece: ten thousand examples stay quick, and they still shrink.)"""
    out: list[str] = []
    at = 0
    for code in codes:
        if code < 224:
            out.append(pieces[code % len(pieces)])
        else:
            out.append(free[at : at + code % 4 + 1])
            at += code % 4 + 1
    return "".join(out)


ENTITY_TYPES = [
    "bold",
    "italic",
    "underline",
    "strikethrough",
    "code",
    "pre",
    "text_link",
    "url",
    "email",
    "mention",
    "text_mention",
    "spoiler",
    "custom_emoji",
    "hashtag",
    "bot_command",
    "blockquote",
    "expandable_blockquote",
    "no_such_type",
]
URLS = [
    'https://ok.example/?a=<b>&c="d"\'',
    "HTTPS://OK.EXAMPLE",
    "mailto:ana@example.org",
    "tg://user?id=1",
    "javascript:alert(1)",
    " JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://a b",
    "https://x.example/\n",
    "\ud800",
    "",
]
ODD_OFFSETS: list[object] = [-1, 2**31, "3", 1.5, True, None]
ODD_LENGTHS: list[object] = [0, -5, None, "2", 2**40, False]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _entities(codes: bytes, text: str, valid: bool) -> list[dict[str, Any]]:
    """Entities over ``text`` in UTF-16 units, four bytes each (type, offset, length, URL).

    Offsets and lengths spread over the text, often inside a surrogate pair or past the end.
    Unless ``valid`` they may be anything a broken client or server could send: negative,
    zero or non-integer values, unknown types. ``valid`` ones pass Telegram's own checks."""
    size = utf16_len(text)
    found: list[dict[str, Any]] = []
    for i in range(0, len(codes) - 3, 4):
        kind, first, many, link = codes[i : i + 4]
        types = ENTITY_TYPES[:-1] if valid else ENTITY_TYPES
        offset: object = first * (size + 2) // 255
        length: object = many * (size + 2) // 255
        if not valid and first >= 250:
            offset = ODD_OFFSETS[first - 250]
        if not valid and many >= 250:
            length = ODD_LENGTHS[many - 250]
        entity: dict[str, Any] = {"type": types[kind % len(types)], "offset": offset}
        entity["length"] = length
        if link < 160:
            entity["url"] = URLS[link % len(URLS)]
        if valid:
            assert isinstance(offset, int)
            assert isinstance(length, int)
            if length <= 0 or offset + length > size:
                continue
        found.append(entity)
    return found


HTML_PIECES = [
    "<b>",
    "</b>",
    "<strong>",
    "<i>",
    "</i>",
    "<em>",
    "<u>",
    "<s>",
    "<del>",
    "<code>",
    "</code>",
    "<pre>",
    "</pre>",
    "<p>",
    "</p>",
    "<h2>",
    "<ul><li>",
    "</li>",
    "<blockquote>",
    '<a href="https://ok.example/?q=<x>&y=1">',
    '<a href="javascript:alert(1)">',
    "<a href='https://matrix.to/#/@ana:example.org'>",
    "<a href=mailto:ana@example.org>",
    "<a>",
    "</a>",
    "<span data-mx-spoiler>",
    "</span>",
    '<img alt="<b>alt</b>">',
]


@dataclass(frozen=True)
class Hostile:
    """One hostile message: its text and Telegram entities, a Matrix formatted_body, and the
    sender's display name (which ends up in the attribution)."""

    text: str
    entities: list[dict[str, Any]]
    formatted: str
    name: str


@st.composite
def hostile_messages(
    draw: st.DrawFn, *, surrogates: bool = True, big: bool = False, valid: bool = False
) -> Hostile:
    """A hostile message; with ``big``, its text has ``BIG`` characters."""
    pieces = PIECES_WITH_SURROGATES if surrogates else PIECES
    free = draw(st.text(max_size=40))
    text = _weave(draw(st.binary(max_size=12 if big else 30)), free, pieces)
    if big:
        text = (text or "x") * (BIG // len(text or "x") + 1)
        text = text[:BIG]
    formatted = _weave(draw(st.binary(max_size=30)), free[::-1], HTML_PIECES + pieces)
    return Hostile(
        text=text,
        entities=_entities(draw(st.binary(max_size=32)), text, valid),
        formatted=formatted,
        name=_weave(draw(st.binary(max_size=4)), free[len(free) // 2 :], pieces),
    )


# ---- what a client shows, tag by tag ---------------------------------------------------------

_MARKER = re.compile("\N{POSTAL HORN}")  # a call-out's, and only its heading's
_MARKER_VS = re.compile("(?<=\N{POSTAL HORN})[\ufe0e\ufe0f]")

_PIECE = re.compile(r"(<[^<>]*>)")
_KNOWN_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#x27);")
_OPENING = re.compile(r'<([a-z-]+)((?: [a-z-]+(?:="[^"]*")?)*)>')
_SAFE_HREF = re.compile(r"(?i:https?|mailto|tg):[^\s\x00-\x1f\x7f-\x9f]+")

Run = tuple[str, frozenset[tuple[str, str]]]  # visible text, the (tag, href) pairs around it


def runs(markup: str) -> Iterator[Run]:
    """The visible text of Telegram or Matrix HTML with the tags open around each run.

    Asserts on the way what any client needs: no raw ``<`` or ``>`` in text, every ``&``
    starts an entity, tags nest. ``<br>`` is a line break. A link's tag carries its href.
    """
    stack: list[tuple[str, str]] = []
    for i, piece in enumerate(_PIECE.split(markup)):
        if i % 2 == 0:
            assert "<" not in piece, piece
            assert ">" not in piece, piece
            assert len(_KNOWN_ENTITY.findall(piece)) == piece.count("&"), piece
            if piece:
                yield html.unescape(piece), frozenset(stack)
        elif piece == "<br>":
            yield "\n", frozenset(stack)
        elif piece.startswith("</"):
            assert stack, f"{piece} closes nothing"
            assert stack.pop()[0] == piece[2:-1], f"{piece} crosses"
        else:
            opening = _OPENING.fullmatch(piece)
            assert opening, piece
            name, attributes = opening.groups()
            href = re.fullmatch(r' href="([^"]*)"', attributes)
            assert href or name != "a", piece
            if href:
                target = html.unescape(href.group(1))
                assert _SAFE_HREF.fullmatch(target), f"unsafe link target {target!r}"
            stack.append((name, html.unescape(href.group(1)) if href else ""))
    assert not stack, f"left open: {stack}"


TELEGRAM_TAGS = {
    "bold": {"b"},
    "italic": {"i"},
    "underline": {"u"},
    "strike": {"s"},
    "code": {"code"},
    "pre": {"pre"},
    "spoiler": {"tg-spoiler"},
    "link": {"a"},
}
MATRIX_TAGS = {
    "bold": {"b"},
    "italic": {"i"},
    "underline": {"u"},
    "strike": {"del"},
    "code": {"code"},
    "pre": {"pre", "code"},
    "spoiler": {"span"},
    "link": {"a"},
    "mention": {"a"},
}


def allowed_markup(
    d: Delivery, kinds: dict[str, set[str]], quote: str, heading: str = ""
) -> tuple[str, list[set[tuple[str, str]]]]:
    """The document the parts of a copy of ``d`` read as, less their headings, and for each
    of its characters the tags that may stand around it: italic for the footer, the quote for
    the original, and for the sender's text only the tags of the spans over that character.
    The call-out marker is not in it: no copy shows the marker but a call-out's heading.
    With ``heading``, the document is a part's: the heading (bold) opens it."""
    pieces: list[tuple[str, set[tuple[str, str]]]] = []
    text_at = None
    if d.text:
        text_at = len(pieces)
        pieces.append((d.text, set()))
    note = "" if d.notice else footer(d)
    if note:
        pieces.append((f"· {note}", {("i", "")}))
    if d.original and not d.notice:
        pieces.append((d.original, {(quote, "")}))
    doc = ""
    allowed: list[set[tuple[str, str]]] = []
    for n, (piece, tags) in enumerate(pieces):
        if doc:
            doc += "\n"
            allowed.append(set())
        start = len(doc)
        doc += piece
        allowed += [set(tags) for _ in piece]
        if n == text_at:
            for span in d.spans:
                if not 0 <= span.start < span.end <= len(piece):
                    continue
                for tag in kinds.get(span.kind, set()):
                    href = (span.url or "").strip(" \t\n\f\r") if tag == "a" else ""
                    for at in range(start + span.start, start + span.end):
                        allowed[at].add((tag, href))
    shown = [not _MARKER.match(doc, at) and not _MARKER_VS.match(doc, at) for at in range(len(doc))]
    allowed = [tags for tags, keep in zip(allowed, shown, strict=True) if keep]
    doc = "".join(ch for ch, keep in zip(doc, shown, strict=True) if keep)
    doc = re.sub("[\ud800-\udfff]", "\ufffd", doc)
    if heading:
        bold = [{("b", "")} for _ in heading]
        doc, allowed = (f"{heading}\n{doc}", [*bold, set(), *allowed]) if doc else (heading, bold)
    return doc, allowed


def heads(d: Delivery, matrix: bool) -> tuple[str, str]:
    """The headings of a copy's first part and of the others, with the renderers' default
    limits (4,096 UTF-16 units, 32,000 bytes), of which a heading takes a quarter at most."""
    if matrix:

        def size(line: str) -> int:
            plain, formatted = f"{line}\n", f"<b>{html.escape(line)}</b><br>"
            return len(json.dumps(plain + formatted, ensure_ascii=False).encode()) - 2

        return headings(d, 32_000 // 4, size)
    return headings(d, 4096 // 4, lambda line: utf16_len(line) + 1 if line else 0)


def heading_openings(d: Delivery, count: int, matrix: bool) -> list[str]:
    """The markup each of ``count`` parts opens with: its heading in bold, a line break."""
    first, rest = heads(d, matrix)
    shown = [first, *[rest] * (count - 1)] if count else []
    line_break = "<br>" if matrix else "\n"
    return [f"<b>{html.escape(h, quote=matrix)}</b>{line_break}" if h else "" for h in shown]


def assert_no_injected_markup(
    parts: Sequence[str],
    d: Delivery,
    kinds: dict[str, set[str]],
    quote: str,
    openings: Sequence[str] | None = None,
) -> None:
    """Every part opens with its heading (``openings[i]``: the exact markup of the heading
    and the line break after it; by default the platform's, told by ``kinds``; a part may be
    the heading alone). Past it, every visible character of the parts is the document's, in
    order (whitespace may go where a part was cut), and stands only inside tags it may
    stand in."""
    if openings is None:
        openings = heading_openings(d, len(parts), matrix=kinds is MATRIX_TAGS)
    doc, allowed = allowed_markup(d, kinds, quote)
    at = 0
    for i, part in enumerate(parts):
        opening = openings[i] if i < len(openings) else ""
        if opening:
            if part == opening.removesuffix("\n").removesuffix("<br>"):
                continue
            assert part.startswith(opening), f"{part[:80]!r} does not open with {opening!r}"
            part = part[len(opening) :]
        for text, tags in runs(part):
            named = {(tag, href) for tag, href in tags}
            for ch in text:
                while at < len(doc) and doc[at] != ch and doc[at].isspace():
                    at += 1  # a cut dropped it, or a pre block ended the line already
                assert at < len(doc), f"{ch!r} is not in the text"
                assert doc[at] == ch, f"{ch!r} where the text has {doc[at]!r} (at {at})"
                for tag, href in named:
                    may = allowed[at]
                    assert (tag, href) in may, f"<{tag}> around {doc[at]!r} at {at}: {may}"
                at += 1
    assert not doc[at:].strip(), f"lost the end: {doc[at:][:80]!r}"


def delivery(text: str, spans: Sequence[Span] = (), **fields: Any) -> Delivery:
    base: dict[str, Any] = {
        "key": "k",
        "action": "send",
        "bot": "x",
        "room": "berlin",
        "chat": "-100",
        "origin": MsgRef(room="cdmx", id="1"),
        "text": text,
        "spans": tuple(spans),
    }
    return Delivery(**(base | fields))


def untranslated(shown: str) -> tuple[str, str] | None:
    """(the room's language, the source language) of a copy's "not translated" note, in
    whichever catalog language the room shows it; None when the copy has no such note."""
    last = shown.rstrip().rsplit("\n", 1)[-1]
    for room in SHIPPED:
        for source in SHIPPED:
            note = footer(delivery("", language=room, untranslated=True, source_language=source))
            if last.endswith(note):
                return room, source
    return None


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The records at ERROR or above that translocal itself logged (a crash shows there)."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.split(".")[0] in ("bridge", "bots", "translation")
    ]
