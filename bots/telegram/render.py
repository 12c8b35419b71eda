"""Telegram rendering: entities in, HTML messages out (pure functions, no I/O).

Telegram counts in UTF-16 code units; the bridge's spans count code points. A delivery is laid
out as one plain document (text, footer, original, joined by newlines) with marks over it (the
tags), cut into parts of at most ``limit`` visible UTF-16 units, and each part is rendered as
well-formed HTML for ``parse_mode=HTML``, opened by the delivery's heading in bold (see
``bridge.model.compose``). Everything from a user is escaped. Links keep http, https and
mailto targets only: a ``tg://`` link (a user id, a private chat) stays text, since copies go
to other groups.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.model.compose import compose, cuts, headings, to_html
from bridge.model.envelope import Delivery, Span, SpanKind

__all__ = ["entities_to_spans", "render_parts", "safe_url", "utf16_len"]

HEADING_SHARE = 4  # a heading takes at most this fraction of a part: 1/4

_SCHEMES = frozenset({"http", "https", "mailto"})
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


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts (a lone surrogate counts one)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _unit_offsets(text: str) -> list[int]:
    """UTF-16 offset of each code point boundary: ``result[i]`` is ``utf16_len(text[:i])``."""
    return list(itertools.accumulate((2 if ord(ch) > 0xFFFF else 1 for ch in text), initial=0))


def safe_url(url: str) -> str | None:
    """The URL when it may be linked (http, https, mailto; no spaces or controls)."""
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

    The heading opens every part (the attribution, then "…, continued"; at most a quarter of
    a part); the footer and the original close the last one (unless they are longer than a
    part themselves). Nothing but whitespace, and no heading, gives no part.
    """
    doc, marks, atoms = compose(delivery, _tag, ("<blockquote expandable>", "</blockquote>"))
    first, rest = headings(delivery, limit // HEADING_SHARE, _line_units)
    lead = (_line_units(first), _line_units(rest))
    parts = cuts(doc, atoms, limit, _unit_offsets(doc), lead=lead)
    if not parts:
        return [_bold(first)] if first else []
    heads = [first, *[rest] * (len(parts) - 1)]
    return [
        (f"{_bold(head)}\n" if head else "") + to_html(doc, marks, start, end)
        for head, (start, end) in zip(heads, parts, strict=True)
    ]


def _line_units(heading: str) -> int:
    """What a heading weighs in a part: its units and the line break after it."""
    return utf16_len(heading) + 1 if heading else 0


def _bold(heading: str) -> str:
    return f"<b>{html.escape(heading, quote=False)}</b>"


def _tag(span: Span) -> tuple[str, str] | None:
    if span.kind == "link":
        url = safe_url(span.url or "")
        return (f'<a href="{html.escape(url, quote=True)}">', "</a>") if url else None
    name = _TAGS.get(span.kind)  # mentions are plain text: the id means nothing here
    return (f"<{name}>", f"</{name}>") if name else None
