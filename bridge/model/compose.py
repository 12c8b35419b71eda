"""The platform-neutral layout of a delivery, shared by the renderers in ``bots/``.

A delivery becomes one plain document (attribution, text, footer, original, joined by
newlines) with marks over it (a mark is where a tag opens and closes). ``cuts`` chooses where
to split the document into parts no heavier than a limit, by a measure the platform gives
(UTF-16 units for Telegram, bytes for Matrix), on paragraph, line or sentence ends, never
inside a grapheme cluster or a span that fits. ``to_html`` writes one part as nested HTML.
The platform says only which tags a span and the original get, and how text is escaped.
"""

from __future__ import annotations

import bisect
import html
import itertools
import re
from collections.abc import Callable, Iterable, Sequence

import regex

from bridge.model.envelope import Delivery, Span

__all__ = ["Escape", "Mark", "TagFor", "compose", "cuts", "to_html"]

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
    """The line a copy carries about its language (adapters format it for their platform)."""
    if delivery.translated:
        return f"translated from {delivery.source_language}"
    if delivery.untranslated:
        return f"not translated (from {delivery.source_language})"
    return ""


def _escape(text: str, around: Sequence[str]) -> str:
    return html.escape(text, quote=False)


def _append(doc: str, piece: str) -> tuple[str, int]:
    """The document with the piece on a new line, and where the piece starts."""
    return (f"{doc}\n{piece}", len(doc) + 1) if doc else (piece, 0)


def compose(
    d: Delivery, tag: TagFor, quote: tuple[str, str]
) -> tuple[str, list[Mark], list[tuple[int, int]]]:
    """The plain document, the marks to render, and the ranges not to cut if they fit.

    ``tag`` gives a span's tags on the platform; ``quote`` wraps the original.
    """
    doc = ""
    marks: list[Mark] = []
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
            tags = tag(span)
            if tags:
                marks.append((start, end, *tags))
    note = "" if d.notice else footer(d)
    tail = len(doc) + 1 if doc else 0
    if note:
        doc, start = _append(doc, f"· {note}")
        marks.append((start, len(doc), "<i>", "</i>"))
    if d.original and not d.notice:
        doc, start = _append(doc, d.original)
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
) -> list[tuple[int, int]]:
    """Where the parts start and end, in code points of the document.

    ``units[i]`` is the weight of ``doc[:i]`` by the platform's measure (non-decreasing, one
    entry per code point boundary); ``opening[i]``, if given, what a part starting at ``i``
    weighs more (tags reopened there). Each part weighs at most ``limit`` unless a single
    grapheme cluster is heavier.
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
        room = limit - (opening[pos] if opening else 0)
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
