"""Telegram rendering: entities in, HTML messages out (pure functions, no I/O).

Telegram counts in UTF-16 code units; the bridge's spans count code points. A delivery is laid
out as one plain document (attribution, text, footer, original, joined by newlines) with marks
over it (the tags), cut into parts of at most ``limit`` visible UTF-16 units, and each part is
rendered as well-formed HTML for ``parse_mode=HTML``. Everything from a user is escaped.
"""

from __future__ import annotations

import bisect
import html
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import regex

from bridge.envelope import Delivery, Span, SpanKind
from bridge.render import footer

__all__ = ["entities_to_spans", "render_parts", "safe_url", "utf16_len"]

_SCHEMES = frozenset({"http", "https", "mailto", "tg"})
_SURROGATE = re.compile("[\ud800-\udfff]")
_GRAPHEME = regex.compile(r"\X")
_WIDE_STOPS = "\N{IDEOGRAPHIC FULL STOP}\N{FULLWIDTH EXCLAMATION MARK}\N{FULLWIDTH QUESTION MARK}"
_ENTITY_KINDS: dict[str, SpanKind] = {
    "bold": "bold",
    "italic": "italic",
    "underline": "underline",
    "strikethrough": "strike",
    "code": "code",
    "pre": "pre",
    "text_link": "link",
    "url": "link",
    "email": "link",
    "mention": "mention",
    "text_mention": "mention",
    "spoiler": "spoiler",
}
_TAGS: dict[str, str] = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strike": "s",
    "code": "code",
    "pre": "pre",
    "spoiler": "tg-spoiler",
}

# A mark: start, end (code points in the document), opening tag, closing tag.
_Mark = tuple[int, int, str, str]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts (a lone surrogate counts one)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _unit_offsets(text: str) -> list[int]:
    """UTF-16 offset of each code point boundary: ``result[i]`` is ``utf16_len(text[:i])``."""
    return list(itertools.accumulate((2 if ord(ch) > 0xFFFF else 1 for ch in text), initial=0))


def safe_url(url: str) -> str | None:
    """The URL when it may be linked (http, https, mailto, tg; no spaces or controls)."""
    if not url or not url.isprintable() or " " in url:
        return None
    scheme, colon, _ = url.partition(":")
    return url if colon and scheme.lower() in _SCHEMES else None


# ---- Telegram entities → spans -----------------------------------------------------------


def entities_to_spans(text: str, entities: Sequence[Mapping[str, Any]]) -> tuple[Span, ...]:
    """Telegram MessageEntity dicts → spans in code points; malformed ones are dropped."""
    index = {unit: i for i, unit in enumerate(_unit_offsets(text))}
    spans = (_entity_span(text, index, entity) for entity in entities)
    return tuple(span for span in spans if span is not None)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _entity_span(text: str, index: Mapping[int, int], entity: object) -> Span | None:
    if not isinstance(entity, Mapping):
        return None
    kind_name, offset, length = entity.get("type"), entity.get("offset"), entity.get("length")
    kind = _ENTITY_KINDS.get(kind_name) if isinstance(kind_name, str) else None
    offset, length = _int(offset), _int(length)
    if kind is None or offset is None or length is None or offset < 0 or length <= 0:
        return None
    start, end = index.get(offset), index.get(offset + length)
    if start is None or end is None:
        return None
    url: str | None = None
    covered = text[start:end]
    if kind_name == "text_link":
        raw = entity.get("url")
        url = safe_url(raw) if isinstance(raw, str) else None
    elif kind_name == "url":
        url = safe_url(covered if "://" in covered else f"http://{covered}")
    elif kind_name == "email":
        url = safe_url(f"mailto:{covered}")
    if kind == "link" and url is None:
        return None
    return Span(start=start, end=end, kind=kind, url=url)


# ---- delivery → HTML parts -----------------------------------------------------------------


def render_parts(delivery: Delivery, limit: int = 4096) -> list[str]:
    """The delivery as Telegram HTML messages, each at most ``limit`` UTF-16 units once parsed.

    The attribution opens the first part; the footer and the original close the last one
    (unless they are longer than a part themselves). Nothing but whitespace gives no part.
    """
    doc, marks, atoms = _compose(delivery)
    return [_html(doc, marks, start, end) for start, end in _cuts(doc, atoms, limit)]


def _append(doc: str, piece: str) -> tuple[str, int]:
    """The document with the piece on a new line, and where the piece starts."""
    return (f"{doc}\n{piece}", len(doc) + 1) if doc else (piece, 0)


def _tag(span: Span) -> tuple[str, str] | None:
    if span.kind == "link":
        url = safe_url(span.url or "")
        return (f'<a href="{html.escape(url, quote=True)}">', "</a>") if url else None
    name = _TAGS.get(span.kind)  # mentions are plain text: the id means nothing here
    return (f"<{name}>", f"</{name}>") if name else None


def _compose(d: Delivery) -> tuple[str, list[_Mark], list[tuple[int, int]]]:
    """The plain document, the marks to render, and the ranges not to cut if they fit."""
    doc = ""
    marks: list[_Mark] = []
    atoms: list[tuple[int, int]] = []
    if d.attribution and not d.notice:
        doc = d.attribution
        marks.append((0, len(doc), "<b>", "</b>"))
    if d.text:
        doc, base = _append(doc, d.text)
        for span in d.spans:
            if not 0 <= span.start < span.end <= len(d.text):
                continue
            start, end = base + span.start, base + span.end
            atoms.append((start, end))  # mentions and refused links stay whole too
            tag = _tag(span)
            if tag:
                marks.append((start, end, *tag))
    note = "" if d.notice else footer(d)
    tail = len(doc) + 1 if doc else 0
    if note:
        doc, start = _append(doc, f"· {note}")
        marks.append((start, len(doc), "<i>", "</i>"))
    if d.original and not d.notice:
        doc, start = _append(doc, d.original)
        marks.append((start, len(doc), "<blockquote expandable>", "</blockquote>"))
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


def _cuts(doc: str, atoms: Iterable[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """Where the parts start and end, in code points of the document."""
    n = len(doc)
    units = _unit_offsets(doc)
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
        end = bisect.bisect_right(units, units[pos] + limit) - 1
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


def _html(doc: str, marks: Sequence[_Mark], start: int, end: int) -> str:
    """doc[start:end] as HTML: tags that cross are closed and reopened, so it nests."""
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
        out.append(html.escape(doc[here:there], quote=False))
    out += [m[4] for m in reversed(stack)]
    return "".join(out)
