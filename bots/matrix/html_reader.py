"""Matrix ``formatted_body`` read as plain text and spans, and which URLs may be links.

Pure functions, no I/O, no nio types. ``html_to_spans`` reads what a client sent into plain
text and spans. It tokenizes the HTML itself, in one pass with no backtracking and a stack
instead of recursion: the standard library's parser takes quadratic time on inputs such as
``"<a " * 20_000`` and raises on others (``"<![<!["``). Only the formatting the bridge
carries becomes spans; links keep only http, https and mailto targets (``link_target``,
which the renderer applies to outgoing links too). ``strip_reply_fallback`` takes the quoted
fallback off a reply's plain body.
"""

from __future__ import annotations

import bisect
import html
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bridge.model.envelope import Span, SpanKind

__all__ = ["MATRIX_TO", "html_to_spans", "link_target", "strip_reply_fallback"]

# ---- URLs ------------------------------------------------------------------------------------

_LINKABLE = re.compile(r"(?i:https?|mailto):\S+")
MATRIX_TO = re.compile(r"(?i:https://matrix\.to/#/)\S")
_MATRIX_TO_USER = re.compile(r"(?i:https://matrix\.to/#/)(?:@|%40)\S")


def link_target(raw: str | None) -> str | None:
    """The URL when it may be a link target: http, https or mailto, printable, no spaces."""
    url = (raw or "").strip(" \t\n\f\r")
    return url if _LINKABLE.fullmatch(url) and url.isprintable() else None


# ---- formatted_body → text and spans ---------------------------------------------------------

_WS = " \t\n\f"
_TAG_NAME = re.compile(f"[^{_WS}/>]+")
_SEPARATORS = re.compile(f"[{_WS}/]*")
_ATTRIBUTE = re.compile(
    f"([^{_WS}/>][^{_WS}/>=]*)"
    f"""(?:[{_WS}]*=[{_WS}]*(?:"([^"]*)"|'([^']*)'|([^{_WS}>]*)))?"""
)
_HIDDEN_UNTIL = {  # elements whose content is not markup and not shown: skipped to their end
    name: re.compile(f"</{name}[{_WS}/>]", re.IGNORECASE) for name in ("script", "style", "title")
}
_WS_RUN = re.compile(f"[{_WS}]+")
_BLANK_LINES = re.compile("\n{3,}")

_KINDS: dict[str, SpanKind] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "s": "strike",
    "del": "strike",
    "strike": "strike",
    "code": "code",
    "pre": "pre",
    **{f"h{level}": "bold" for level in range(1, 7)},
}
_HIDDEN = frozenset({"mx-reply", "head", *_HIDDEN_UNTIL})
_STACKED = frozenset({*_KINDS, *_HIDDEN, "a", "span"})  # open until their end tag
_PARAGRAPHS = frozenset({"p", "hr", *(f"h{level}" for level in range(1, 7))})
_LINES = frozenset(
    "div li tr blockquote pre ul ol dl dt dd table caption thead tbody tfoot details summary"
    " section article header footer nav aside main figure figcaption address center".split()
)
_CELLS = frozenset({"td", "th"})
_INLINE = frozenset({"b", "strong", "i", "em", "u", "s", "del", "strike", "code", "a", "span"})
_REOPEN = 8  # inline elements closed by a stray end tag that open again after it, at most

# A token: ("text", decoded text, {}), ("start", tag name, attributes) or ("end", tag name, {}).
_Token = tuple[str, str, dict[str, str]]


def _start_tag(raw: str, pos: int) -> tuple[str, dict[str, str], int] | None:
    """The tag whose name starts at ``pos``, its attributes and where it ends; None at EOF."""
    name = _TAG_NAME.match(raw, pos)
    assert name is not None  # the caller saw a letter at pos
    attrs: dict[str, str] = {}
    at = name.end()
    while True:
        separators = _SEPARATORS.match(raw, at)
        at = separators.end() if separators else at
        if at >= len(raw):
            return None  # the end of the input inside a tag: the tag is dropped (as HTML does)
        if raw[at] == ">":
            return name.group().lower(), attrs, at + 1
        attr = _ATTRIBUTE.match(raw, at)
        assert attr is not None  # raw[at] is neither a separator nor ">"
        key, double, single, bare = attr.groups()
        if bare and bare[0] in "\"'":
            return None  # a quote never closed: the rest is inside the attribute
        value = next((v for v in (double, single, bare) if v is not None), "")
        attrs.setdefault(key.lower(), html.unescape(value))
        at = attr.end()


def _tokens(raw: str) -> Iterator[_Token]:
    """HTML tokens in one forward pass; comments, declarations and bogus markup are skipped."""
    pos = text_from = 0
    while (at := raw.find("<", pos)) >= 0:
        after = raw[at + 1 : at + 2]
        end: int  # where the markup ends; -1: it runs to the end of the input
        token: _Token | None = None
        if after.isascii() and after.isalpha():
            tag = _start_tag(raw, at + 1)
            end = -1 if tag is None else tag[2]
            if tag is not None:
                token = ("start", tag[0], tag[1])
        elif after == "/":
            first = raw[at + 2 : at + 3]
            if not first:
                break  # "</" at the very end is text
            end = raw.find(">", at + 2) + 1 or -1
            if first.isascii() and first.isalpha():
                closed = _TAG_NAME.match(raw, at + 2)
                assert closed is not None
                token = ("end", closed.group().lower(), {})
        elif after in ("!", "?"):
            close = "-->" if raw.startswith("<!--", at) else ">"
            found = raw.find(close, at + 2)
            end = -1 if found < 0 else found + len(close)
        else:
            pos = at + 1  # a "<" that starts nothing is text
            continue
        if at > text_from:
            yield ("text", html.unescape(raw[text_from:at]), {})
        if end < 0:
            return
        pos = text_from = end
        if token is None:
            continue
        yield token
        kind, name = token[:2]
        if kind == "start" and name in _HIDDEN_UNTIL:
            closing = _HIDDEN_UNTIL[name].search(raw, end)
            gt = raw.find(">", closing.end() - 1) if closing else -1
            if gt < 0:
                return
            yield ("end", name, {})
            pos = text_from = gt + 1
    if len(raw) > text_from:
        yield ("text", html.unescape(raw[text_from:]), {})


@dataclass
class _Open:
    name: str
    kind: SpanKind | None
    url: str | None
    start: int


class _Reader:
    """Turns tokens into text and spans, as a reader of the rendered HTML would see it."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.length = 0
        self.shown = 0  # where the last text ended: spans end there, not after line breaks
        self.newlines = 0  # how many newlines end the text so far
        self.space = False  # a collapsed space is due before the next text on this line
        self.fresh_pre = False  # just after <pre>: a first newline is not content
        self.stack: list[_Open] = []
        self.open: Counter[str] = Counter()
        self.hidden = 0
        self.pre = 0
        self.spans: list[Span] = []

    def _emit(self, piece: str, text: bool = True) -> None:
        self.out.append(piece)
        self.length += len(piece)
        self.shown = self.length if text else self.shown
        body = piece.rstrip("\n")
        self.newlines = len(piece) - len(body) + (0 if body else self.newlines)

    def _line_start(self) -> bool:
        return self.length == 0 or self.newlines > 0

    def _flush_space(self) -> None:
        if self.space and not self._line_start():
            self._emit(" ")
        self.space = False

    def _break(self, newlines: int) -> None:
        """End the line (1) or the paragraph (2); never at the start, never more than that."""
        self.space = False
        if self.length and self.newlines < newlines:
            self._emit("\n" * (newlines - self.newlines), text=False)

    def text(self, data: str) -> None:
        if self.hidden or not data:
            return
        if self.pre:
            self._pre_text(data)
            return
        collapsed = _WS_RUN.sub(" ", data)
        core = collapsed.strip(" ")
        if collapsed.startswith(" "):
            self.space = True
        if core:
            self._flush_space()
            self._emit(core)
            self.space = collapsed.endswith(" ")

    def _pre_text(self, data: str) -> None:
        if self.fresh_pre and data.startswith("\n"):
            data = data[1:]
        self.fresh_pre = False
        data = _BLANK_LINES.sub("\n\n", data)
        lead = len(data) - len(data.lstrip("\n"))
        room = max(0, 2 - self.newlines) if self.length else 0
        data = "\n" * min(lead, room) + data[lead:]
        if data:
            self._flush_space()
            self._emit(data)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.fresh_pre = False
        if not self.hidden:
            if name == "br":
                self._break(min(self.newlines + 1, 2))
            elif name in _PARAGRAPHS:
                self._break(2)
            elif name in _LINES:
                self._break(1)
            if name == "li":
                self._emit("• ")
            elif name == "img":
                self.text(attrs.get("alt", ""))
        if name not in _STACKED:
            return
        kind, url = _KINDS.get(name), None
        if name == "a":
            url = link_target(attrs.get("href"))
            kind = None if url is None else "mention" if _MATRIX_TO_USER.match(url) else "link"
        elif name == "span" and "data-mx-spoiler" in attrs:
            kind = "spoiler"
        self._push(_Open(name, kind, url, 0))
        self.fresh_pre = name == "pre"

    def _push(self, element: _Open) -> None:
        element.start = self.length + int(self.space)  # where its next text will start
        self.stack.append(element)
        self.open[element.name] += 1
        self.hidden += element.name in _HIDDEN
        self.pre += element.name == "pre"

    def end(self, name: str) -> None:
        self.fresh_pre = False
        if name == "br":  # "</br>" is read as "<br>"
            self.start(name, {})
            return
        inner: list[_Open] = []  # what was left open inside it: closed with it
        while self.open[name]:
            element = self.stack.pop()
            self._close(element)
            if element.name == name:
                break
            inner.append(element)
        if not self.hidden:
            if name in _PARAGRAPHS:
                self._break(2)
            elif name in _LINES:
                self._break(1)
            elif name in _CELLS and not self._line_start():
                self.space = True
        for element in reversed(inner[-_REOPEN:]):  # <b>a<i>b</b>c</i>: "c" is still italic
            if element.name in _INLINE:
                self._push(element)

    def _close(self, element: _Open) -> None:
        self.open[element.name] -= 1
        self.hidden -= element.name in _HIDDEN
        self.pre -= element.name == "pre"
        if element.kind and element.start < self.shown:
            span = Span(start=element.start, end=self.shown, kind=element.kind, url=element.url)
            self.spans.append(span)

    def finish(self) -> tuple[str, tuple[Span, ...]]:
        while self.stack:
            self._close(self.stack.pop())
        text = "".join(self.out).rstrip(_WS)
        lead = len(text) - len(text.lstrip(_WS))  # only spaces a pre block started with
        return text[lead:], _merge(self.spans, text, lead)


def _merge(spans: Sequence[Span], text: str, lead: int) -> tuple[Span, ...]:
    """The spans within text[lead:], counted from ``lead``; ones of a kind (and URL) joined
    where they overlap, touch or only line breaks part them; code inside pre dropped; sorted."""
    ranges: defaultdict[tuple[SpanKind, str | None], list[tuple[int, int]]] = defaultdict(list)
    for span in spans:
        first, last = max(span.start, lead) - lead, min(span.end, len(text)) - lead
        if first < last:
            ranges[span.kind, span.url].append((first, last))
    # printed[i]: how many characters of text[lead:lead + i] are not line breaks
    printed = list(itertools.accumulate((ch != "\n" for ch in text[lead:]), initial=0))
    joined: dict[tuple[SpanKind, str | None], list[tuple[int, int]]] = {}
    for key, found in ranges.items():
        runs: list[tuple[int, int]] = []
        for start, end in sorted(found):
            if runs and printed[max(start, runs[-1][1])] == printed[runs[-1][1]]:
                runs[-1] = (runs[-1][0], max(end, runs[-1][1]))
            else:
                runs.append((start, end))
        joined[key] = runs
    pre = joined.get(("pre", None), [])
    pre_starts = [start for start, _ in pre]

    def in_pre(start: int, end: int) -> bool:
        i = bisect.bisect_right(pre_starts, start) - 1
        return i >= 0 and end <= pre[i][1]

    result = [
        Span(start=start, end=end, kind=kind, url=url)
        for (kind, url), runs in joined.items()
        for start, end in runs
        if not (kind == "code" and in_pre(start, end))
    ]
    return tuple(sorted(result, key=lambda s: (s.start, -s.end, s.kind, s.url or "")))


def html_to_spans(formatted_body: str) -> tuple[str, tuple[Span, ...]]:
    """A Matrix ``formatted_body`` as plain text and spans (offsets in code points).

    b/strong, i/em, u, s/del/strike, code, pre and ``<span data-mx-spoiler>`` become spans;
    h1-h6 bold. ``<a href>`` is a link only to http, https or mailto; to a ``matrix.to`` user,
    a mention; otherwise its text stays and the link goes. The reply fallback
    (``<mx-reply>``), script, style, title and head are dropped; ``<img>`` is its alt text.
    Blocks and ``<br>`` make line breaks (at most one blank line, none at the ends), list
    items start with "• ", and whitespace collapses as a browser shows it, except in pre.
    """
    reader = _Reader()
    source = formatted_body.replace("\r\n", "\n").replace("\r", "\n")
    for event, value, attrs in _tokens(source):
        if event == "text":
            reader.text(value)
        elif event == "start":
            reader.start(value, attrs)
        else:
            reader.end(value)
    return reader.finish()


def strip_reply_fallback(body: str) -> str:
    """A reply's plain ``body`` without its fallback: the leading lines quoted with "> " and
    the empty line after them. A body not of that shape comes back unchanged.

    Only for events that are replies (``m.in_reply_to``): elsewhere a leading quote is text.
    """
    lines = body.split("\n")
    quoted = next(
        (i for i, line in enumerate(lines) if not line.startswith("> ") and line != ">"),
        len(lines),
    )
    if quoted == 0 or quoted == len(lines) or lines[quoted] not in ("", "\r"):
        return body
    return "\n".join(lines[quoted + 1 :])
