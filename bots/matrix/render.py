"""Matrix rendering: a delivery out as ``(body, formatted_body)`` pairs, one per event.

Pure functions, no I/O, no nio types. A delivery is laid out by ``bridge.model.compose`` as
for every platform, measured in bytes of the event's JSON (``body`` plus
``formatted_body``), and each part becomes the plain text and the ``org.matrix.custom.html``
of one event, opened by the delivery's heading in bold. Everything from a user is escaped,
and links keep only http, https and mailto targets. Reading HTML in (``html_to_spans``,
``strip_reply_fallback``) is ``bots.matrix.html_reader``'s job; both are re-exported here
for the renderer's callers.
"""

from __future__ import annotations

import bisect
import functools
import html
import itertools
import json
from collections.abc import Sequence

from bots.matrix.html_reader import MATRIX_TO, html_to_spans, link_target, strip_reply_fallback
from bridge.model.compose import Mark, compose, cuts, headings, to_html, unmarked
from bridge.model.envelope import Delivery, Span

__all__ = ["html_to_spans", "render_parts", "strip_reply_fallback"]

# ---- delivery → (body, formatted_body) parts -------------------------------------------------

_QUOTE = ("<blockquote>", "</blockquote>")
_PRE = "<pre><code>"
_TAGS: dict[str, tuple[str, str]] = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strike": ("<del>", "</del>"),
    "code": ("<code>", "</code>"),
    "pre": (_PRE, "</code></pre>"),
    "spoiler": ("<span data-mx-spoiler>", "</span>"),
}
_MIN_LIMIT = 32
HEADING_SHARE = 4  # a heading takes at most this fraction of an event: 1/4
_ATTEMPTS = 8


def _tag(text: str, span: Span) -> tuple[str, str] | None:
    """A span's tags; ``text`` is the text it is in (compose checked that it lies within)."""
    if span.kind in ("link", "mention"):
        url = link_target(span.url)
        if url is None or (span.kind == "mention" and not MATRIX_TO.match(url)):
            return None  # a mention without a matrix.to URL is its text: nobody to ping here
        return f'<a href="{html.escape(url, quote=True)}">', "</a>"
    if span.kind == "pre" and not _whole_lines(text, span.start, span.end):
        return _TAGS["code"]  # a block in HTML: within a line, it would break the line
    return _TAGS.get(span.kind)


def _whole_lines(text: str, start: int, end: int) -> bool:
    starts_line = start == 0 or text[start - 1] == "\n"
    return starts_line and (end == len(text) or "\n" in (text[end - 1], text[end]))


def _around_blocks(marks: Sequence[Mark]) -> list[Mark]:
    """The marks, those that cross the edge of a pre block cut there: a block closed and
    reopened where a mark crosses it would show as two blocks."""
    blocks = sorted((start, end) for start, end, opening, _ in marks if opening == _PRE)
    if not blocks:
        return list(marks)
    starts = [start for start, _ in blocks]
    result: list[Mark] = []
    for start, end, opening, closing in marks:
        edges = {start, end}
        if opening != _PRE:
            first, last = blocks[max(0, bisect.bisect_right(starts, start) - 1)]
            if first < start < last < end:
                edges.add(last)
            first, last = blocks[max(0, bisect.bisect_left(starts, end) - 1)]
            if start < first < end < last:
                edges.add(first)
        points = sorted(edges)
        result += [(a, b, opening, closing) for a, b in itertools.pairwise(points)]
    return result


def _markup(text: str, around: Sequence[str]) -> str:
    """Text as HTML: escaped, quotes too; line breaks as <br> except in a pre block."""
    escaped = html.escape(text, quote=True)
    return escaped if _PRE in around else escaped.replace("\n", "<br>")


def _ended_lines(doc: str, marks: Sequence[Mark]) -> frozenset[int]:
    """Where a line break follows a pre block that does not end with one: the block ends the
    line already, and a <br> there would show as an empty line."""
    ends = (end for start, end, opening, _ in marks if opening == _PRE)
    return frozenset(end for end in ends if doc[end : end + 1] == "\n" != doc[end - 1])


def _part(
    doc: str, marks: Sequence[Mark], start: int, end: int, ended: frozenset[int]
) -> tuple[str, str]:
    end = start + len(doc[start:end].rstrip())  # a line break at the end would show as one
    at = start  # to_html escapes the runs of text in order: where the next one starts

    def markup(text: str, around: Sequence[str]) -> str:
        nonlocal at
        here, at = at, at + len(text)
        return _markup(text[1:] if here in ended else text, around)

    return doc[start:end], to_html(doc, marks, start, end, markup)


def _size(text: str) -> int:
    """Bytes the text takes as a JSON string in the event, UTF-8, without the quotes."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8")) - 2


def _weights(doc: str, marks: Sequence[Mark]) -> tuple[list[int], list[int]]:
    """What ``doc[:i]`` weighs in a part, plain and as HTML with the tags of the marks that
    open in it; and what a part starting at ``i`` weighs more, for the tags it reopens.
    (Tags reopened where marks cross inside a part are not counted.)"""
    cost: dict[str, int] = {}
    weight = [cost.get(ch) or cost.setdefault(ch, _size(ch) + _size(_markup(ch, ()))) for ch in doc]
    covering = [0] * (len(doc) + 1)
    for start, end, opening, closing in marks:
        tags = _size(opening) + _size(closing)
        weight[start] += tags
        covering[start + 1] += tags
        covering[end] -= tags
    return list(itertools.accumulate(weight, initial=0)), list(itertools.accumulate(covering))


def _heading(line: str) -> tuple[str, str]:
    """A heading as the plain and the HTML start of a part (nothing for no heading)."""
    return (f"{line}\n", f"<b>{_markup(line, ())}</b><br>") if line else ("", "")


def _line_size(line: str) -> int:
    """What a heading weighs in a part, plain and as HTML."""
    body, formatted = _heading(line)
    return _size(body) + _size(formatted)


def _fit(
    doc: str,
    marks: Sequence[Mark],
    atoms: Sequence[tuple[int, int]],
    limit: int,
    heads: tuple[str, str],
) -> list[tuple[str, str]] | None:
    """The parts, each opened by its heading (the first, then the other) and lighter than
    ``limit``; None if the tags outweigh every try."""
    units, opening = _weights(doc, marks)
    ended = _ended_lines(doc, marks)
    lead = (_line_size(heads[0]), _line_size(heads[1]))
    budget = limit - 1
    for _ in range(_ATTEMPTS):
        bounds = cuts(doc, atoms, budget, units, opening, lead)
        parts = [_part(doc, marks, start, end, ended) for start, end in bounds]
        parts = [part for part in parts if part[0].strip()]  # a cluster cut at a tiny limit
        if not parts and heads[0]:
            return [(heads[0], f"<b>{_markup(heads[0], ())}</b>")]
        openings = [_heading(heads[min(i, 1)]) for i in range(len(parts))]
        parts = [
            (head + body, head_html + formatted)
            for (head, head_html), (body, formatted) in zip(openings, parts, strict=True)
        ]
        heaviest = max((_size(body) + _size(formatted) for body, formatted in parts), default=0)
        if heaviest < limit:
            return parts
        excess = heaviest - (limit - 1)  # tags reopened at crossings, or more tags than text
        budget = max(1, min(budget - excess, budget * (limit - 1) // heaviest))
    return None


def render_parts(delivery: Delivery, limit: int = 32_000) -> list[tuple[str, str]]:
    """The delivery as Matrix messages: ``(body, formatted_body)`` pairs, in order.

    ``body`` is the plain text (heading, text, footer, original, one per line), and
    ``formatted_body`` the same as ``org.matrix.custom.html``. Every part opens with the
    heading (the attribution, then "…, continued"; at most a quarter of the limit). Each
    pair weighs less than ``limit`` bytes as JSON strings in UTF-8 (under the event limit of
    65,536 bytes with the default), cut as the Telegram renderer cuts: on paragraph, line or
    sentence ends, never inside a grapheme cluster or a span that fits. Nothing but
    whitespace, and no heading, gives no part.
    Formatting so heavy that it cannot fit is dropped, and the text goes out plain.
    """
    if limit < _MIN_LIMIT:
        raise ValueError(f"limit must be at least {_MIN_LIMIT} bytes, not {limit}")
    text = unmarked(delivery.text)[0]  # the text the spans are over, as compose lays it out
    doc, marks, atoms = compose(delivery, functools.partial(_tag, text), _QUOTE)
    heads = headings(delivery, limit // HEADING_SHARE, _line_size)
    parts = _fit(doc, _around_blocks(marks), atoms, limit, heads)
    if parts is None:
        parts = _fit(doc, [], atoms, limit, heads)
        assert parts is not None  # without tags, a part weighs just what was counted
    return parts
