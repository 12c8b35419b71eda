"""The platform-neutral layout of a delivery, shared by the renderers in ``bots/``.

A delivery becomes one plain document (text, footer, original, joined by newlines) with
marks over it (a mark is where a tag opens and closes). ``cuts`` chooses where to split the
document into parts no heavier than a limit, by a measure the platform gives (UTF-16 units
for Telegram, bytes for Matrix), on paragraph, line or sentence ends, never inside a grapheme
cluster or a span that fits. ``to_html`` writes one part as nested HTML. The platform says
only which tags a span and the original get, and how text is escaped.

Every part opens with the delivery's heading, one bold line (``headings``): the attribution,
then "<attribution>, continued" on later parts, so that no part opens with a line of the
sender's own. A call-out's heading starts with ``MARKER``, which nothing else can show:
it is removed from every text, original and attribution a renderer writes (``unmarked``),
and a heading is one line without control or bidi characters (``one_line``). Matrix also
sends call-outs as ``m.notice``, which members' copies never are.
"""

from __future__ import annotations

import bisect
import html
import itertools
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence

import regex

from bridge.model.envelope import Delivery, MsgRef, Span
from bridge.model.i18n import Language, Message, Param, _, render
from bridge.model.settings import RoomConfig

__all__ = [
    "MARKER",
    "Escape",
    "Mark",
    "TagFor",
    "compose",
    "continued",
    "cuts",
    "headings",
    "one_line",
    "shorten",
    "to_html",
    "unmarked",
]

# What opens a call-out's heading, and nothing else a member can see. The postal horn (a
# herald's horn): visible on every client of both platforms, and rare in members' own texts,
# which lose it (``unmarked``), whereas the megaphones 📣 📢 are staples of organizing chats.
MARKER = "\N{POSTAL HORN}"
_MARKED = re.compile("\N{POSTAL HORN}[\ufe0e\ufe0f]?")
CONTINUED = _("{heading}, continued")  # in the room's language, from its catalog
ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"
# Invisible characters a heading keeps: the joiners that emoji sequences and scripts need.
_JOINERS = frozenset("\u200c\u200d")
_SPACES = re.compile(r"\s+")

_SURROGATE = re.compile("[\ud800-\udfff]")
_GRAPHEME = regex.compile(r"\X")
_WIDE_STOPS = "\N{IDEOGRAPHIC FULL STOP}\N{FULLWIDTH EXCLAMATION MARK}\N{FULLWIDTH QUESTION MARK}"

# A mark: start, end (code points in the document), opening tag, closing tag.
Mark = tuple[int, int, str, str]
# A span's opening and closing tags on a platform, or None to leave it plain text.
TagFor = Callable[[Span], tuple[str, str] | None]
# A run of plain text as markup, given the opening tags around it (outer ones first).
Escape = Callable[[str, Sequence[str]], str]


def footer(delivery: Delivery) -> str:
    """The line a copy carries about its language, in the room's language ("traducido del
    alemán"; adapters format it for their platform)."""
    source = Language(delivery.source_language, "from")
    if delivery.translated:
        return render(_("translated from {language}", language=source), delivery.language)
    if delivery.untranslated:
        return render(_("not translated (from {language})", language=source), delivery.language)
    return ""


def _escape(text: str, around: Sequence[str]) -> str:
    return html.escape(text, quote=False)


def _append(doc: str, piece: str) -> tuple[str, int]:
    """The document with the piece on a new line, and where the piece starts."""
    return (f"{doc}\n{piece}", len(doc) + 1) if doc else (piece, 0)


def unmarked(text: str, spans: Sequence[Span] = ()) -> tuple[str, tuple[Span, ...]]:
    """The text without the call-out marker (nor a variation selector after it), and the
    spans moved with it; a span over the marker alone goes, and so does one out of range."""
    if MARKER not in text:
        return text, tuple(spans)
    keep = [True] * len(text)
    for found in _MARKED.finditer(text):
        keep[found.start() : found.end()] = [False] * (found.end() - found.start())
    moved = list(itertools.accumulate(keep, initial=0))  # moved[i]: characters kept before i
    kept = "".join(ch for ch, k in zip(text, keep, strict=True) if k)
    return kept, tuple(
        span.model_copy(update={"start": moved[span.start], "end": moved[span.end]})
        for span in spans
        if 0 <= span.start < span.end <= len(text) and moved[span.start] < moved[span.end]
    )


def one_line(text: str) -> str:
    """The text as one line: every kind of whitespace (line breaks too) collapsed to single
    spaces, control and format characters (bidi overrides and isolates, zero-width marks,
    tag characters) removed, save the joiners that emoji and some scripts need."""
    kept = (
        " " if ch.isspace() else ch
        for ch in text
        if ch.isspace() or ch in _JOINERS or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    return _SPACES.sub(" ", "".join(kept)).strip()


def shorten(text: str, room: int, measure: Callable[[str], int]) -> str:
    """The text if it weighs at most ``room`` by ``measure``; else as many whole grapheme
    clusters as fit with an ellipsis after them; "" if not even the ellipsis fits."""
    if measure(text) <= room:
        return text
    if measure(ELLIPSIS) > room:
        return ""
    clusters = _GRAPHEME.findall(text)
    low, high = 0, len(clusters)
    while low < high:  # the most clusters that fit
        mid = (low + high + 1) // 2
        if measure("".join(clusters[:mid]).rstrip() + ELLIPSIS) <= room:
            low = mid
        else:
            high = mid - 1
    return "".join(clusters[:low]).rstrip() + ELLIPSIS


def continued(heading: str, language: str = "en") -> str:
    """The heading of a part after the first: "Ana (CDMX), continued" ("…, Fortsetzung")."""
    return render(Message(CONTINUED.msgid, (("heading", heading),)), language or "en")


def headings(d: Delivery, room: int, measure: Callable[[str], int]) -> tuple[str, str]:
    """The bold line the first part opens with, and the one every later part opens with
    (both "" for the bridge's notices, which have none).

    A copy's heading is its attribution, a call-out's the marker and its heading, one line
    each; each weighs at most ``room`` by ``measure`` (the platform's weight of the line in a
    part), shortened if it must be, so that a long attribution never crowds out the text.
    """
    if d.notice:
        return "", ""
    first = one_line(unmarked(d.attribution)[0])
    if d.callout:
        first = f"{MARKER} {first}".rstrip()
    if not first:
        return "", ""
    rest = shorten(first, room, lambda line: measure(continued(line, d.language)))
    return shorten(first, room, measure), continued(rest, d.language) if rest else ""


def compose(
    d: Delivery, tag: TagFor, quote: tuple[str, str]
) -> tuple[str, list[Mark], list[tuple[int, int]]]:
    """The plain document, the marks to render, and the ranges not to cut if they fit.

    ``tag`` gives a span's tags on the platform; ``quote`` wraps the original. The heading
    is not in the document: each part gets its own (``headings``).
    """
    doc = ""
    marks: list[Mark] = []
    atoms: list[tuple[int, int]] = []
    text, spans = unmarked(d.text, d.spans)
    if text:
        doc, base = _append(doc, text)
        for span in spans:
            if not 0 <= span.start < span.end <= len(text):
                continue
            start, end = base + span.start, base + span.end
            atoms.append((start, end))  # mentions and refused links stay whole too
            tags = tag(span)
            if tags:
                marks.append((start, end, *tags))
    note = "" if d.notice else footer(d)
    tail = len(doc) + 1 if doc else 0
    if note:
        doc, start = _append(doc, f"· {note}")
        marks.append((start, len(doc), "<i>", "</i>"))
    if d.original and not d.notice:
        doc, start = _append(doc, unmarked(d.original)[0])
        marks.append((start, len(doc), *quote))
    if len(doc) > tail:
        atoms.append((tail, len(doc)))  # footer and original together, in the last part
    atoms += [(start, end) for start, end, _, _ in marks]
    return _SURROGATE.sub("\ufffd", doc), marks, atoms


def _rank(doc: str, at: int) -> int:
    """How good a place to cut: paragraph, line, sentence end, space, grapheme boundary."""
    if doc.startswith("\n\n", at):
        return 0
    if doc.startswith("\n", at):
        return 1
    before, after = doc[at - 1 : at], doc[at : at + 1]
    if before and (before in _WIDE_STOPS or (before in ".!?" and after.isspace())):
        return 2
    return 3 if after.isspace() else 4


def cuts(
    doc: str,
    atoms: Iterable[tuple[int, int]],
    limit: int,
    units: Sequence[int],
    opening: Sequence[int] | None = None,
    lead: tuple[int, int] = (0, 0),
) -> list[tuple[int, int]]:
    """Where the parts start and end, in code points of the document.

    ``units[i]`` is the weight of ``doc[:i]`` by the platform's measure (non-decreasing, one
    entry per code point boundary); ``opening[i]``, if given, what a part starting at ``i``
    weighs more (tags reopened there); ``lead``, what the heading of the first part and of
    each later part weighs. Each part weighs at most ``limit`` unless a single grapheme
    cluster is heavier.
    """
    n = len(doc)
    starts = [match.start() for match in _GRAPHEME.finditer(doc)]
    cluster_end = dict(itertools.pairwise([*starts, n]))
    boundary = [False] * (n + 1)
    for start in [*starts, n]:
        boundary[start] = True
    depth = [0] * (n + 2)
    for start, end in atoms:
        if units[end] - units[start] <= limit:  # longer ones must be cut anyway
            depth[start + 1] += 1
            depth[end] -= 1
    inside = list(itertools.accumulate(depth))
    rank = [_rank(doc, at) for at in range(n + 1)]

    def pick(pos: int, end: int, ok: Callable[[int], bool]) -> int | None:
        """The best-ranked cut in the later half of what is allowed, the latest of those."""
        candidates = [at for at in range(pos + 1, end + 1) if ok(at)]
        if not candidates:
            return None
        half = (units[pos] + units[candidates[-1]]) / 2
        return min((at for at in candidates if units[at] >= half), key=lambda at: (rank[at], -at))

    def skip_space(pos: int) -> int:
        while pos < n:
            stop = cluster_end.get(pos, pos + 1)
            if not doc[pos:stop].isspace():
                break
            pos = stop
        return pos

    parts: list[tuple[int, int]] = []
    pos = skip_space(0)
    while pos < n:
        room = limit - (opening[pos] if opening else 0) - lead[1 if parts else 0]
        end = bisect.bisect_right(units, units[pos] + room) - 1
        if end >= n:
            cut = n
        else:
            cut = (
                pick(pos, end, lambda at: boundary[at] and not inside[at])
                or pick(pos, end, boundary.__getitem__)
                or max(end, pos + 1)  # one grapheme cluster longer than a part: cut it
            )
        parts.append((pos, cut))
        pos = skip_space(cut)
    return parts


def to_html(doc: str, marks: Sequence[Mark], start: int, end: int, escape: Escape = _escape) -> str:
    """doc[start:end] as HTML: tags that cross are closed and reopened, so it nests.

    ``escape`` turns each run of text into markup, the runs in order (by default
    ``html.escape`` without quotes), given the opening tags around the run.
    """
    clipped = sorted(
        (max(s, start), -min(e, end), i, opening, closing)
        for i, (s, e, opening, closing) in enumerate(marks)
        if max(s, start) < min(e, end)
    )
    points = sorted({start, end, *(m[0] for m in clipped), *(-m[1] for m in clipped)})
    out: list[str] = []
    stack: list[tuple[int, int, int, str, str]] = []
    active: list[tuple[int, int, int, str, str]] = []
    opened = 0
    for here, there in itertools.pairwise(points):
        active = [m for m in active if -m[1] > here]
        while opened < len(clipped) and clipped[opened][0] == here:
            active.append(clipped[opened])
            opened += 1
        active.sort()  # outer ones first
        keep = 0
        while keep < min(len(stack), len(active)) and stack[keep][2] == active[keep][2]:
            keep += 1
        out += [m[4] for m in reversed(stack[keep:])]
        out += [m[3] for m in active[keep:]]
        stack = active
        out.append(escape(doc[here:there], [m[3] for m in stack]))
    out += [m[4] for m in reversed(stack)]
    return "".join(out)


def notice_in(
    room: RoomConfig, text: Param, *, key: str | None = None, reply_to: str | None = None
) -> Delivery:
    """The bridge's own notice in ``room`` (a reply to ``reply_to``, a message id there).
    A marked text is rendered from the catalogs (English where the room's language has none:
    use ``localize`` first where a translator is at hand)."""
    return Delivery.to(
        room,
        key=key or f"notice:{uuid.uuid4().hex}",
        action="send",
        origin=MsgRef(room=room.id, id="notice"),
        reply_to=MsgRef(room=room.id, id=reply_to) if reply_to else None,
        text=render(text, room.language),
        language=room.language,
        notice=True,
    )
