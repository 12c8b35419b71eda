"""Telegram rendering: entities to spans, deliveries to HTML parts that Telegram accepts."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.telegram.render import entities_to_spans, render_parts, safe_url, utf16_len
from bridge.model.compose import footer, headings, unmarked
from bridge.model.envelope import Delivery, MsgRef, Span

ALLOWED = {"b", "i", "u", "s", "code", "pre", "a", "tg-spoiler", "blockquote"}
ENTITY = re.compile(r"&(amp|lt|gt|quot|#x27);")
TAG = re.compile(r'<(/?)([a-z-]+)((?: [a-z]+(?:="[^"<>]*")?)*)>')


class Visible(HTMLParser):
    """Parses one part as Telegram would: only its tags, properly nested; collects the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.stack: list[str] = []
        self.inside: list[tuple[str, frozenset[str]]] = []  # (data, open tags)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED, tag
        if tag == "a":
            assert len(attrs) == 1
            assert attrs[0][0] == "href"
            assert safe_url(attrs[0][1] or "") is not None, attrs
        elif tag == "blockquote":
            assert attrs == [("expandable", None)]
        else:
            assert attrs == []
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        assert self.stack.pop() == tag, f"</{tag}> crosses"

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        self.inside.append((data, frozenset(self.stack)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"<{tag}/>")

    def handle_comment(self, data: str) -> None:
        raise AssertionError("comment")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError("declaration")

    def handle_pi(self, data: str) -> None:
        raise AssertionError("processing instruction")

    def unknown_decl(self, data: str) -> None:
        raise AssertionError("unknown declaration")


def parse(part: str) -> Visible:
    part.encode("utf-8")  # no lone surrogates left: the API request would fail
    bare = TAG.sub("", part)
    assert "<" not in bare
    assert ">" not in bare
    assert len(ENTITY.findall(bare)) == bare.count("&"), "every & starts an entity"
    parser = Visible()
    parser.feed(part)
    parser.close()
    assert parser.stack == [], "unclosed tags"
    return parser


def visible(part: str) -> str:
    return "".join(parse(part).text)


def delivery(text: str = "", **fields: Any) -> Delivery:
    base: dict[str, Any] = {
        "key": "k",
        "action": "send",
        "bot": "tg",
        "room": "berlin",
        "chat": "-100",
        "origin": MsgRef(room="lisbon", id="1"),
        "text": text,
    }
    return Delivery(**(base | fields))


def expected_text(d: Delivery) -> str:
    """What the parts read as together, without their headings."""
    note = footer(d)
    text, original = unmarked(d.text)[0], unmarked(d.original)[0]
    pieces = [text] if d.notice else [text, f"· {note}" if note else "", original]
    return re.sub("[\ud800-\udfff]", "\ufffd", "\n".join(p for p in pieces if p))


def expected_heads(d: Delivery, limit: int = 4096) -> tuple[str, str]:
    """The headings of the first part and of the others (a quarter of a part at most)."""
    return headings(d, limit // 4, lambda line: utf16_len(line) + 1 if line else 0)


def check_parts(
    parts: list[str], expected: str, limit: int, heads: tuple[str, str] = ("", "")
) -> list[tuple[int, int]]:
    """Each part valid and within the limit, opened by its heading in bold (the first, then
    the other); together, less the headings, they are the text, save whitespace at cuts.
    Returns where each part sits in the expected text."""
    where: list[tuple[int, int]] = []
    at = 0
    if not expected.strip() and heads[0]:
        assert parts == [f"<b>{html.escape(heads[0], quote=False)}</b>"]
        return [(0, 0)]
    for i, part in enumerate(parts):
        assert utf16_len(visible(part)) <= limit
        head = heads[min(i, 1)]
        if head:
            opening = f"<b>{html.escape(head, quote=False)}</b>\n"
            assert part.startswith(opening), (part[:80], head)
            part = part[len(opening) :]
        shown = visible(part)
        assert shown.strip(), "empty or whitespace-only part"
        start = at
        while not expected.startswith(shown, start):
            assert start < len(expected), f"{shown!r} not found after {expected[:at]!r}"
            assert expected[start].isspace(), f"lost {expected[start]!r} before {shown!r}"
            start += 1
        where.append((start, start + len(shown)))
        at = start + len(shown)
    assert not expected[at:].strip(), f"lost the end: {expected[at:]!r}"
    return where


def clusters(text: str) -> set[int]:
    return {m.start() for m in regex.finditer(r"\X", text)} | {len(text)}


# ---- counting and URLs -----------------------------------------------------------------


def test_utf16_len() -> None:
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("😀") == 2
    assert utf16_len("👩‍👩‍👧") == 8
    assert utf16_len("é\u202e\u200b") == 3
    assert utf16_len("\ud800") == 1


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.org/a?b=c", True),
        ("HTTP://example.org", True),
        ("mailto:ana@example.org", True),
        ("tg://user?id=1", False),  # a user id: not carried into other groups
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,<b>", False),
        (" https://example.org", False),
        ("https://exa mple.org", False),
        ("https://example.org/\n", False),
        ("https://example.org/\u202e", False),
        ("https://example.org/\ud800", False),
        ("example.org", False),
        ("", False),
    ],
)
def test_safe_url(url: str, ok: bool) -> None:
    assert (safe_url(url) == url) is ok


# ---- entities → spans ------------------------------------------------------------------


def test_entity_offsets_count_utf16_units() -> None:
    spans = entities_to_spans("😀 bold", [{"type": "bold", "offset": 3, "length": 4}])
    assert spans == (Span(start=2, end=6, kind="bold"),)
    text = "👩‍👩‍👧 x 🇩🇪 yy"
    spans = entities_to_spans(text, [{"type": "italic", "offset": 11, "length": 4}])
    assert [text[s.start : s.end] for s in spans] == ["🇩🇪"]


def test_entity_types() -> None:
    text = "b i u s c p L U @ana Ana sp #tag /cmd a@b.org q"
    spans = entities_to_spans(
        text,
        [
            {"type": "bold", "offset": 0, "length": 1},
            {"type": "italic", "offset": 2, "length": 1},
            {"type": "underline", "offset": 4, "length": 1},
            {"type": "strikethrough", "offset": 6, "length": 1},
            {"type": "code", "offset": 8, "length": 1},
            {"type": "pre", "offset": 10, "length": 1, "language": "python"},
            {"type": "text_link", "offset": 12, "length": 1, "url": "https://x.org/"},
            {"type": "url", "offset": 14, "length": 1},
            {"type": "mention", "offset": 16, "length": 4},
            {"type": "text_mention", "offset": 21, "length": 3, "user": {"id": 1}},
            {"type": "spoiler", "offset": 25, "length": 2},
            {"type": "hashtag", "offset": 28, "length": 4},
            {"type": "bot_command", "offset": 33, "length": 4},
            {"type": "email", "offset": 38, "length": 7},
            {"type": "blockquote", "offset": 0, "length": 47},
            {"type": "expandable_blockquote", "offset": 0, "length": 47},
            {"type": "custom_emoji", "offset": 46, "length": 1, "custom_emoji_id": "5"},
            {"type": "cashtag", "offset": 46, "length": 1},
        ],
    )
    assert [(s.kind, text[s.start : s.end], s.url) for s in spans] == [
        ("bold", "b", None),
        ("italic", "i", None),
        ("underline", "u", None),
        ("strike", "s", None),
        ("code", "c", None),
        ("pre", "p", None),
        ("link", "L", "https://x.org/"),
        ("link", "U", "http://U"),
        ("mention", "@ana", None),
        ("mention", "Ana", None),
        ("spoiler", "sp", None),
        ("link", "a@b.org", "mailto:a@b.org"),
    ]


def test_url_entity_keeps_its_scheme() -> None:
    text = "see https://a.org/x and b.org"
    spans = entities_to_spans(
        text,
        [{"type": "url", "offset": 4, "length": 15}, {"type": "url", "offset": 24, "length": 5}],
    )
    assert [s.url for s in spans] == ["https://a.org/x", "http://b.org"]


def test_hostile_entities_are_dropped() -> None:
    text = "😀 abc"
    hostile: list[Any] = [
        {"type": "bold", "offset": -1, "length": 2},
        {"type": "bold", "offset": 0, "length": -1},
        {"type": "bold", "offset": 0, "length": 0},
        {"type": "bold", "offset": 1, "length": 2},  # starts inside the surrogate pair
        {"type": "bold", "offset": 0, "length": 1},  # ends inside it
        {"type": "bold", "offset": 0, "length": 99},
        {"type": "bold", "offset": 6, "length": 1},
        {"type": "bold", "offset": 10**30, "length": 1},
        {"type": "bold"},
        {"offset": 0, "length": 2},
        {"type": "bold", "offset": "0", "length": 2},
        {"type": "bold", "offset": True, "length": 2},
        {"type": "bold", "offset": 0.0, "length": 2},
        {"type": "bold", "offset": None, "length": 2},
        {"type": ["bold"], "offset": 0, "length": 2},
        {"type": None, "offset": 0, "length": 2},
        {"type": "text_link", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 0, "length": 2, "url": 5},
        {"type": "text_link", "offset": 0, "length": 2, "url": "javascript:alert(1)"},
        {"type": "text_link", "offset": 0, "length": 2, "url": "https://x.org/\n"},
        {"type": "unknown_future_type", "offset": 0, "length": 2},
        "bold",
        None,
        42,
        ["bold", 0, 2],
    ]
    assert entities_to_spans(text, hostile) == ()
    assert entities_to_spans("", [{"type": "bold", "offset": 0, "length": 1}]) == ()


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=20),
    entities=st.lists(
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["bold", "code", "text_link", "url", "mention", "x"]),
                "offset": st.integers(-3, 45),
                "length": st.integers(-3, 45),
            },
            optional={"url": st.one_of(st.text(max_size=8), st.just("https://x.org"))},
        ),
        max_size=6,
    ),
)
def test_entities_never_raise(text: str, entities: list[dict[str, Any]]) -> None:
    offsets = [0]
    for ch in text:
        offsets.append(offsets[-1] + (2 if ord(ch) > 0xFFFF else 1))
    for span in entities_to_spans(text, entities):
        assert 0 <= span.start < span.end <= len(text)
        assert any(
            e["offset"] == offsets[span.start] and e["offset"] + e["length"] == offsets[span.end]
            for e in entities
        )
        assert span.kind != "link" or safe_url(span.url or "") is not None


# ---- layout and escaping ----------------------------------------------------------------


def test_layout_of_a_translated_copy() -> None:
    d = delivery(
        "hi",
        attribution="Ana (Lisbon)",
        translated=True,
        source_language="pt",
        original="olá",
    )
    assert render_parts(d) == [
        "<b>Ana (Lisbon)</b>\nhi\n<i>· translated from Portuguese</i>\n"
        "<blockquote expandable>olá</blockquote>"
    ]


def test_short_plain_text_is_one_part() -> None:
    assert render_parts(delivery("hello world", attribution="Ana")) == ["<b>Ana</b>\nhello world"]
    assert render_parts(delivery("hello world")) == ["hello world"]


def test_notice_is_the_text_alone() -> None:
    d = delivery("bridge paused", notice=True, attribution="x", untranslated=True, original="y")
    assert render_parts(d) == ["bridge paused"]


def test_nothing_but_whitespace_gives_no_part() -> None:
    assert render_parts(delivery(" \n\t ", notice=True)) == []
    assert render_parts(delivery("")) == []


def test_user_text_is_escaped() -> None:
    d = delivery("<b>x</b> & <script>alert(1)</script> &amp;", attribution='Bo <i> & "co"')
    [part] = render_parts(d)
    assert part.startswith('<b>Bo &lt;i&gt; &amp; "co"</b>\n&lt;b&gt;x&lt;/b&gt; &amp; ')
    assert visible(part) == 'Bo <i> & "co"\n<b>x</b> & <script>alert(1)</script> &amp;'


def test_original_is_escaped() -> None:
    [part] = render_parts(delivery("x", original="</blockquote><b>&"))
    assert visible(part) == "x\n</blockquote><b>&"


def test_spans_become_tags() -> None:
    text = "b i u s c p sp"
    kinds = ["bold", "italic", "underline", "strike", "code", "pre", "spoiler"]
    starts = [0, 2, 4, 6, 8, 10, 12]
    spans = tuple(
        Span(start=s, end=s + (2 if k == "spoiler" else 1), kind=k)  # type: ignore[arg-type]
        for s, k in zip(starts, kinds, strict=True)
    )
    assert render_parts(delivery(text, spans=spans)) == [
        "<b>b</b> <i>i</i> <u>u</u> <s>s</s> <code>c</code> <pre>p</pre> "
        "<tg-spoiler>sp</tg-spoiler>"
    ]


def test_links_are_escaped_and_checked() -> None:
    text = "one two three four"
    spans = (
        Span(start=0, end=3, kind="link", url='https://x.org/?a="b"&c=<d>'),
        Span(start=4, end=7, kind="link", url="javascript:alert(1)"),
        Span(start=8, end=13, kind="link", url=None),
        Span(start=14, end=18, kind="link", url="tg://user?id=5"),  # the text, no link
    )
    [part] = render_parts(delivery(text, spans=spans))
    assert part == '<a href="https://x.org/?a=&quot;b&quot;&amp;c=&lt;d&gt;">one</a> two three four'
    assert visible(part) == text


def test_mentions_are_plain_text() -> None:
    spans = (Span(start=0, end=4, kind="mention"),)
    assert render_parts(delivery("@ana hi", spans=spans)) == ["@ana hi"]


def test_nested_spans() -> None:
    spans = (Span(start=0, end=6, kind="bold"), Span(start=2, end=4, kind="italic"))
    assert render_parts(delivery("abcdef", spans=spans)) == ["<b>ab<i>cd</i>ef</b>"]
    spans = (Span(start=2, end=4, kind="italic"), Span(start=0, end=6, kind="bold"))
    assert render_parts(delivery("abcdef", spans=spans)) == ["<b>ab<i>cd</i>ef</b>"]


def test_crossing_spans_are_closed_and_reopened() -> None:
    spans = (Span(start=0, end=4, kind="bold"), Span(start=2, end=6, kind="italic"))
    [part] = render_parts(delivery("abcdef", spans=spans))
    assert part == "<b>ab<i>cd</i></b><i>ef</i>"
    assert visible(part) == "abcdef"


def test_bad_spans_are_ignored() -> None:
    spans = (
        Span(start=3, end=3, kind="bold"),
        Span(start=2, end=1, kind="bold"),
        Span(start=0, end=99, kind="italic"),
        Span(start=40, end=41, kind="code"),
    )
    assert render_parts(delivery("abc", spans=spans)) == ["abc"]


def test_lone_surrogates_become_replacement_characters() -> None:
    d = delivery("a\ud800b\udfff", attribution="\udc00", original="\ud83d")
    [part] = render_parts(d)
    assert visible(part) == "\ufffd\na\ufffdb\ufffd\n\ufffd"


def test_controls_rtl_and_zero_width_are_kept() -> None:
    text = "a\x00b\x07c\r\nd\u202eevil\u202c \u200b\u200d\ufeff x\x7f"
    [part] = render_parts(delivery(text))
    assert visible(part) == text


# ---- splitting ------------------------------------------------------------------------------


def test_ten_thousand_emoji() -> None:
    text = "😀" * 10_000
    parts = render_parts(delivery(text))
    assert len(parts) == 5
    shown = [visible(p) for p in parts]
    assert all(utf16_len(s) <= 4096 for s in shown)
    assert all(set(s) == {"😀"} for s in shown)  # no half emoji
    assert "".join(shown) == text


def test_long_text_splits_at_sentence_ends() -> None:
    text = "".join(f"This is sentence number {i}, fairly ordinary! " for i in range(400))
    parts = render_parts(delivery(text.strip()))
    assert len(parts) > 1
    check_parts(parts, text.strip(), 4096)
    for part in parts:
        assert part.endswith("!")
        assert part.startswith("This is sentence")


def test_paragraph_breaks_come_first() -> None:
    paragraph = "Words and more words. " * 40 + "End.\n"
    text = (paragraph + "\n") * 10
    parts = render_parts(delivery(text.strip()))
    where = check_parts(parts, text.strip(), 4096)
    for _, end in where[:-1]:
        assert text[end : end + 2] == "\n\n"


def test_line_break_before_sentence_end() -> None:
    text = "A short line.\n" * 400
    where = check_parts(render_parts(delivery(text.strip())), text.strip(), 4096)
    assert all(text[end] == "\n" for _, end in where[:-1])


@pytest.mark.parametrize("limit", [4096, 100, 37, 11])
def test_grapheme_clusters_stay_whole(limit: int) -> None:
    units = ["👩‍👩‍👧‍👦", "🇩🇪", "👍🏽", "e\u0301\u0323", "🏳️‍🌈", "x"]
    text = "".join(units) * 800
    parts = render_parts(delivery(text), limit=limit)
    bounds = clusters(text)
    for start, end in check_parts(parts, text, limit):
        assert start in bounds
        assert end in bounds


def test_span_that_fits_is_not_cut() -> None:
    text = "w " * 2000 + "B" * 200 + " w" * 500
    spans = (Span(start=4000, end=4200, kind="bold"),)
    parts = render_parts(delivery(text, spans=spans))
    check_parts(parts, text, 4096)
    with_bold = [p for p in parts if "<b>" in p]
    assert len(with_bold) == 1
    assert "<b>" + "B" * 200 + "</b>" in with_bold[0]


def test_long_code_span_is_cut_and_reopened() -> None:
    text = "intro " + "a" * 9000 + " outro"
    parts = render_parts(delivery(text, spans=(Span(start=6, end=9006, kind="code"),)))
    assert len(parts) == 3
    check_parts(parts, text, 4096)
    assert parts[0].startswith("intro <code>")
    assert parts[0].endswith("</code>")
    assert parts[1].startswith("<code>")
    assert parts[1].endswith("</code>")
    assert parts[2].startswith("<code>")
    for part in parts:
        for data, tags in parse(part).inside:
            assert ("a" in data) == ("code" in tags)


def test_every_part_opens_with_the_attribution_and_the_notes_close_the_last() -> None:
    text = " ".join(f"word{i}" for i in range(3000))
    d = delivery(
        text,
        attribution="Ana (Lisbon)",
        translated=True,
        source_language="pt",
        original="o original, curto",
    )
    parts = render_parts(d)
    assert len(parts) >= 3
    check_parts(parts, expected_text(d), 4096, ("Ana (Lisbon)", "Ana (Lisbon), continued"))
    assert parts[0].startswith("<b>Ana (Lisbon)</b>\nword0 ")
    assert parts[-1].endswith(
        f"<i>· {footer(d)}</i>\n<blockquote expandable>o original, curto</blockquote>"
    )
    for part in parts[1:]:  # a later part never opens with a line of the sender's own
        assert part.startswith("<b>Ana (Lisbon), continued</b>\nword")
        assert part.count("<b>") == 1
    for part in parts[:-1]:
        assert "translated" not in part
        assert "blockquote" not in part


def test_footer_that_does_not_fit_goes_to_an_extra_part() -> None:
    text = "x" * 4096
    d = delivery(text, untranslated=True, source_language="pt", original="y" * 100)
    parts = render_parts(d)
    assert parts[0] == text
    assert parts[1:] == [
        "<i>· not translated (from Portuguese)</i>\n<blockquote expandable>"
        + "y" * 100
        + "</blockquote>"
    ]


# ---- the property --------------------------------------------------------------------------

SPECIAL = [
    "\ud800",
    "\udfff",
    "\u202e",
    "\u200d",
    "\u200b",
    "<",
    ">",
    "&",
    "&amp;",
    "<b>",
    '"',
    "\x00",
    "\x07",
    "\r\n",
    "\n",
    "\n\n",
    " ",
    "\t",
    ". ",
    "! ",
    "。",
    "😀",
    "👩‍👩‍👧",
    "🇩🇪",
    "👍🏽",
    "e\u0301",
    "word",
]
TEXTS = st.lists(st.one_of(st.sampled_from(SPECIAL), st.text(max_size=4)), max_size=40).map("".join)
KINDS = ["bold", "italic", "underline", "strike", "code", "pre", "link", "mention", "spoiler"]
URLS = [None, 'https://x.org/?a="b"&c=<d>\'', "javascript:alert(1)", "tg://user?id=1", "\ud800"]


@st.composite
def deliveries(draw: st.DrawFn) -> Delivery:
    text = draw(TEXTS)
    bound = st.integers(0, len(text) + 2)
    spans = draw(
        st.lists(
            st.builds(
                Span,
                start=bound,
                end=bound,
                kind=st.sampled_from(KINDS),
                url=st.sampled_from(URLS),
            ),
            max_size=8,
        )
    )
    return delivery(
        text,
        spans=tuple(spans),
        attribution=draw(st.one_of(st.sampled_from(["", "Ana <&> (Lisbon)"]), TEXTS)),
        translated=draw(st.booleans()),
        source_language="pt",
        original=draw(st.one_of(st.just(""), TEXTS)),
        notice=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None)
@given(d=deliveries(), limit=st.one_of(st.integers(4, 60), st.just(4096)))
def test_any_delivery_renders_to_valid_parts(d: Delivery, limit: int) -> None:
    parts = render_parts(d, limit=limit)
    expected = expected_text(d)
    heads = expected_heads(d, limit)
    where = check_parts(parts, expected, limit, heads)
    if not expected.strip() and not heads[0]:
        assert parts == []
    if all(utf16_len(m.group()) <= limit for m in regex.finditer(r"\X", expected)):
        bounds = clusters(expected)
        assert all(start in bounds and end in bounds for start, end in where)
