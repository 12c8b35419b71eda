"""Matrix rendering: formatted_body HTML read into text and spans, deliveries written as
(body, formatted_body) events that a Matrix client shows as the sender meant them."""

from __future__ import annotations

import html
import itertools
import json
import re
from typing import Any

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from bots.matrix.render import html_to_spans, render_parts, strip_reply_fallback
from bridge.model.compose import footer, headings, unmarked
from bridge.model.envelope import Delivery, MsgRef, Span, SpanKind

ANA = "https://matrix.to/#/@ana:example.org"
EVENT_LIMIT = 65_536


def copy(text: str = "", **fields: Any) -> Delivery:
    """A copy of a Lisbon message for a Berlin Matrix room."""
    return Delivery(
        key="k",
        action="send",
        bot="matrix-berlin",
        room="berlin",
        chat="!room:example.org",
        origin=MsgRef(room="lisbon", id="$origin"),
        text=text,
        **fields,
    )


def span(start: int, end: int, kind: SpanKind, url: str | None = None) -> Span:
    return Span(start=start, end=end, kind=kind, url=url)


def marked(text: str, spans: tuple[Span, ...]) -> list[tuple[str, str, str | None]]:
    return [(s.kind, text[s.start : s.end], s.url) for s in spans]


# ---- what a client shows of a formatted_body (independent of the code under test) ----------

PLAIN_TAGS = {"b", "i", "u", "del", "code", "pre", "blockquote"}
PIECE = re.compile(r"(<[^<>]*>)")
KNOWN_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#x27);")
LINKABLE = re.compile(r"(?:https?|mailto):\S+", re.IGNORECASE)


def shown(formatted: str) -> str:
    """The text a reader sees, checking on the way that the HTML is only tags we allow,
    properly nested, with every character of user text escaped. <br> is a line break, and a
    pre block ends its line."""
    formatted.encode("utf-8")  # no lone surrogates: the event could not be sent
    out: list[str] = []
    stack: list[str] = []
    line_ends = False  # a pre block closed: what follows starts on a new line

    def add(text: str) -> None:
        nonlocal line_ends
        if line_ends and out and not out[-1].endswith("\n"):
            out.append("\n")
        line_ends = False
        out.append(text)

    for i, piece in enumerate(PIECE.split(formatted)):
        if i % 2 == 0:
            assert "<" not in piece
            assert ">" not in piece
            assert len(KNOWN_ENTITY.findall(piece)) == piece.count("&"), piece
            if piece:
                add(html.unescape(piece))
        elif piece == "<br>":
            add("\n")
        elif piece.startswith("</"):
            assert stack, f"{piece} closes nothing"
            assert stack.pop() == piece[2:-1], f"{piece} crosses"
            line_ends = line_ends or piece == "</pre>"
        else:
            name = piece[1:-1].split(" ")[0]
            if name == "a":
                href = re.fullmatch(r'<a href="([^"]*)">', piece)
                assert href, piece
                assert LINKABLE.fullmatch(html.unescape(href.group(1)))
            elif name == "span":
                assert piece == "<span data-mx-spoiler>"
            else:
                assert name in PLAIN_TAGS, piece
                assert piece == f"<{name}>"
            stack.append(name)
    assert stack == [], f"left open: {stack}"
    return "".join(out)


def check(
    parts: list[tuple[str, str]], expected: str, limit: int, heads: tuple[str, str] = ("", "")
) -> list[tuple[int, int]]:
    """Every part fits, shows its plain body and opens with its heading in bold (the first,
    then the other); the bodies less the headings are the expected text in order, with
    nothing lost but whitespace where it was cut. Returns where each part sits."""
    where: list[tuple[int, int]] = []
    at = 0
    if not expected.strip() and heads[0]:
        assert parts == [(heads[0], f"<b>{html.escape(heads[0])}</b>")]
        return [(0, 0)]
    for i, (body, formatted) in enumerate(parts):
        assert len(body.encode()) + len(formatted.encode()) < limit
        event = {"msgtype": "m.text", "body": body, "format": "org.matrix.custom.html"}
        event["formatted_body"] = formatted  # as the homeserver measures it: UTF-8 JSON
        assert len(json.dumps(event, ensure_ascii=False).encode()) < EVENT_LIMIT
        assert shown(formatted) == body
        head = heads[min(i, 1)]
        if head:
            opening = f"<b>{html.escape(head)}</b><br>"
            assert body.startswith(f"{head}\n"), (body[:80], head)
            assert formatted.startswith(opening), (formatted[:80], head)
            body, formatted = body[len(head) + 1 :], formatted[len(opening) :]
        assert body.strip(), "a part with nothing to read"
        start = expected.find(body, at)
        assert start >= 0, f"{body[:40]!r}… is not in the text after {at}"
        assert not expected[at:start].strip(), f"lost {expected[at:start]!r}"
        at = start + len(body)
        where.append((start, at))
    assert not expected[at:].strip(), f"lost the end: {expected[at:]!r}"
    return where


def layout(d: Delivery) -> str:
    """The document a delivery's parts read as together, less their headings."""
    note = f"· {footer(d)}" if footer(d) else ""
    text, original = unmarked(d.text)[0], unmarked(d.original)[0]
    pieces = [text] if d.notice else [text, note, original]
    text = "\n".join(piece for piece in pieces if piece)
    return re.sub("[\ud800-\udfff]", "\N{REPLACEMENT CHARACTER}", text)


def heads(d: Delivery, limit: int = 32_000) -> tuple[str, str]:
    """The headings of the first part and of the others (a quarter of the limit at most)."""

    def size(line: str) -> int:
        plain, formatted = f"{line}\n", f"<b>{html.escape(line)}</b><br>"
        return len(json.dumps(plain + formatted, ensure_ascii=False).encode()) - 2

    return headings(d, limit // 4, size)


def grapheme_bounds(text: str) -> set[int]:
    return {0, len(text), *(m.end() for m in regex.finditer(r"\X", text))}


# ---- formatted_body → text and spans: what carries over -------------------------------------


@pytest.mark.parametrize(
    ("tag", "kind"),
    [
        ("b", "bold"),
        ("strong", "bold"),
        ("i", "italic"),
        ("em", "italic"),
        ("u", "underline"),
        ("s", "strike"),
        ("del", "strike"),
        ("strike", "strike"),
        ("code", "code"),
        ("STRONG", "bold"),
    ],
)
def test_inline_formatting_becomes_spans(tag: str, kind: str) -> None:
    text, spans = html_to_spans(f"say <{tag}>this</{tag}> now")
    assert text == "say this now"
    assert marked(text, spans) == [(kind, "this", None)]


def test_links_mentions_and_spoilers() -> None:
    text, spans = html_to_spans(
        '<a href="https://example.org/?a=1&amp;b=2">the plan</a>, ask '
        f'<a href="{ANA}">Ana</a> or <a href="mailto:info@example.org">mail</a>, '
        '<a href="https://matrix.to/#/%40bo%3Aexample.org">Bo</a> in '
        '<a href="https://matrix.to/#/#housing:example.org">#housing</a>: '
        '<span data-mx-spoiler="the date">Friday</span> <span>plain</span>'
    )
    assert text == "the plan, ask Ana or mail, Bo in #housing: Friday plain"
    assert marked(text, spans) == [
        ("link", "the plan", "https://example.org/?a=1&b=2"),
        ("mention", "Ana", ANA),
        ("link", "mail", "mailto:info@example.org"),
        ("mention", "Bo", "https://matrix.to/#/%40bo%3Aexample.org"),
        ("link", "#housing", "https://matrix.to/#/#housing:example.org"),
        ("spoiler", "Friday", None),
    ]


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "\tjavascript:alert(1)",
        "&#106;avascript:alert(1)",
        "&#x6A;avascript&colon;alert(1)",
        "jav&#x09;ascript:alert(1)",
        "java\nscript:alert(1)",
        "&#0;javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "DATA:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "VbScRiPt:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example.org/",
        "https://exa mple.org/",
        "https://example.org/\u202e",
        "\uff4aavascript:alert(1)",  # a fullwidth j
        "",
    ],
)
def test_unsafe_link_targets_keep_the_text_and_lose_the_link(href: str) -> None:
    attribute = f"'{href}'" if '"' in href else f'"{href}"'
    assert html_to_spans(f"<a href={attribute}>x</a>") == ("x", ())


@pytest.mark.parametrize(
    "tag",
    [
        "<a href=javascript:alert(1)>",
        "<A HREF='JavaScript:alert(1)'>",
        '<a  href = " javascript:alert(1)" >',
        '<a href="javascript:alert(1)" href="https://example.org">',
        '<a href="https://example.org"onclick="alert(1)" href=x>',
    ],
)
def test_unsafe_link_tags(tag: str) -> None:
    text, spans = html_to_spans(f"{tag}x</a> y")
    assert text == "x y"
    assert [s.url for s in spans] == (["https://example.org"] if "onclick" in tag else [])


def test_links_without_target_and_empty_links_give_no_span() -> None:
    assert html_to_spans("<a>x</a> <a name=top>y</a>") == ("x y", ())
    assert html_to_spans('<a href="https://example.org"></a>z') == ("z", ())


def test_scripts_styles_and_images_show_nothing_executable() -> None:
    body = (
        "<head><title>t</title><style>b{}</style></head>"
        "<script>alert(1)</script>before <img src=x onerror=alert(1)>after "
        '<img alt="a banner" src="mxc://example.org/x"> '
        "<SCRIPT type=text/javascript>document.cookie</SCRIPT >end"
        "<script>never closed <b>x</b>"
    )
    assert html_to_spans(body) == ("before after a banner end", ())


def test_reply_fallback_in_html_is_removed() -> None:
    body = (
        "<mx-reply><blockquote>"
        '<a href="https://matrix.to/#/!room:example.org/$event:example.org">In reply to</a> '
        f'<a href="{ANA}">@ana:example.org</a><br><b>the original</b>'
        "</blockquote></mx-reply>Wir stehen an <b>eurer</b> Seite"
    )
    text, spans = html_to_spans(body)
    assert text == "Wir stehen an eurer Seite"
    assert marked(text, spans) == [("bold", "eurer", None)]


def test_blocks_give_line_breaks() -> None:
    body = (
        "<h1>Blockade</h1><p>Tomorrow   at\n 7.</p><p>Bring:</p>"
        "<ul>\n<li>banners</li>\n<li>water <i>and</i> food</li>\n</ul>"
        "<blockquote>a quote</blockquote>line<br>next<br><br><br><br>after<hr>end"
        "<div><div><div>deep</div></div></div>"
        "<table><tr><th>where</th><th>when</th></tr><tr><td>park</td><td>7</td></tr></table>"
    )
    text, spans = html_to_spans(f"\n  <p></p><br>{body}<br><br>\n  ")
    assert text == (
        "Blockade\n\nTomorrow at 7.\n\nBring:\n\n• banners\n• water and food\na quote\n"
        "line\nnext\n\nafter\n\nend\ndeep\nwhere when\npark 7"
    )
    assert marked(text, spans) == [("bold", "Blockade", None), ("italic", "and", None)]


def test_whitespace_collapses_outside_pre_only() -> None:
    text, spans = html_to_spans(
        "a  \t b <b> c </b> d\n<pre>\n  x  = 1\n\n  y\n</pre>e <pre><code>z</code></pre>"
    )
    assert text == "a b c d\n  x  = 1\n\n  y\ne\nz"
    assert marked(text, spans) == [
        ("bold", "c", None),
        ("pre", "  x  = 1\n\n  y\n", None),
        ("pre", "z", None),  # the code inside a pre block is the block
    ]


def test_entities_are_decoded_and_stay_text() -> None:
    text, spans = html_to_spans("&amp; &lt;b&gt;x&lt;/b&gt; &quot;&#39;&#x1F600; &nbsp;&copy")
    assert text == "& <b>x</b> \"'😀 \xa0©"
    assert spans == ()


def test_rtl_override_and_zero_width_are_carried_literally() -> None:
    raw = "a\u202eevil\u202c b\u200b\u200d\ufeffc"
    text, spans = html_to_spans(f"<b>{raw}</b>")
    assert text == raw
    assert marked(text, spans) == [("bold", raw, None)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<b>bold to the end", ("bold to the end", [("bold", "bold to the end", None)])),
        ("x</i></b></span></a></mx-reply> y", ("x y", [])),
        ("<b>a<i>b</b>c</i>d", ("abcd", [("bold", "ab", None), ("italic", "bc", None)])),
        ("<i><b>a</i>b</b>", ("ab", [("bold", "ab", None), ("italic", "a", None)])),
        ("text<b", ("text", [])),
        ('text<a href="https://example.org', ("text", [])),
        ("text</b", ("text", [])),
        ("a < b > c &", ("a < b > c &", [])),
        ("x</", ("x</", [])),
        ("1<2 and 3>2", ("1<2 and 3>2", [])),
        ("<!-- hidden <b>x</b> -->shown<!-- never closed", ("shown", [])),
        ("<![CDATA[x]]>y<!DOCTYPE html><?php echo 1 ?>z</ b>", ("yz", [])),
        ("<![<![<![", ("", [])),
        ("</>a<//b>c", ("ac", [])),
        ("<p<b>x</b>", ("x", [])),
        ("<b/>x<br/>y", ("x\ny", [("bold", "x\ny", None)])),
        ("<mx-reply>never closed", ("", [])),
    ],
)
def test_malformed_html(body: str, expected: tuple[str, list[Any]]) -> None:
    text, spans = html_to_spans(body)
    assert (text, marked(text, spans)) == expected


@pytest.mark.parametrize(
    "body",
    [
        "<b>" * 10_000 + "deep" + "</b>" * 10_000,
        "<b>" * 10_000 + "deep",
        "<div>" * 10_000 + "deep" + "</div>" * 10_000,
        "<i><b>" * 5_000 + "deep" + "</i>" * 5_000,
        "<a href='https://example.org'>" * 10_000 + "deep",
        "<mx-reply>" * 10_000 + "</mx-reply>" * 10_000 + "deep",
    ],
)
def test_ten_thousand_nested_tags(body: str) -> None:
    text, spans = html_to_spans(body)
    assert text == "deep"
    assert len(spans) <= 2
    assert all((s.start, s.end) == (0, 4) for s in spans)


@pytest.mark.parametrize(
    "body",
    [
        "<a " * 20_000,
        '<a x="' * 10_000,
        "<!--" * 15_000,
        "<![" * 20_000,
        "</" * 30_000,
        "<script>" + "</" * 30_000,
        "<b " * 20_000 + ">",
        "<" * 60_000,
        "&" * 60_000,
        "<i></b>" * 8_000,
        "<i><b>" * 1_000 + "</i>" * 1_000,
    ],
)
def test_hostile_60_kb_bodies(body: str) -> None:
    """Inputs on which the standard library's parser is quadratic or raises."""
    text, spans = html_to_spans(body)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert set(text) <= set(body)


def test_a_60_kb_body_is_read_whole() -> None:
    paragraphs = [
        f"<p>Point {i}: we meet at <b>7</b> &amp; bring banners.</p>" for i in range(1100)
    ]
    body = "".join(paragraphs)
    assert len(body) > 60_000
    text, spans = html_to_spans(body)
    assert text == "\n\n".join(f"Point {i}: we meet at 7 & bring banners." for i in range(1100))
    assert len(spans) == 1100
    assert all(text[s.start : s.end] == "7" and s.kind == "bold" for s in spans)


ELEMENTS = ["b", "i", "u", "del", "code", "pre", "a", "span", "p", "li", "div", "mx-reply"]
PIECES = st.one_of(
    st.sampled_from([f"<{e}>" for e in ELEMENTS] + [f"</{e}>" for e in ELEMENTS]),
    st.sampled_from(
        [
            "<br>",
            f'<a href="{ANA}">',
            '<a href="javascript:x">',
            "<span data-mx-spoiler>",
            "<script>",
            "</script>",
            "<img alt=pic>",
            "&amp;",
            "&#x202e;",
            "<",
            ">",
            "&",
            "\n",
            "  ",
            "😀",
            "👩‍👩‍👧",
            '"',
            "<!--",
            "-->",
        ]
    ),
    st.text(max_size=5),
)


@settings(max_examples=400, deadline=None)
@given(body=st.lists(PIECES, max_size=40).map("".join))
def test_spans_always_fit_the_text(body: str) -> None:
    text, spans = html_to_spans(body)
    assert text == text.strip(" \t\n\f")
    assert "\n\n\n" not in text
    assert list(spans) == sorted(spans, key=lambda s: (s.start, -s.end, s.kind, s.url or ""))
    for s in spans:
        assert 0 <= s.start < s.end <= len(text)
        assert (s.url is not None) == (s.kind in ("link", "mention"))
    for kind in {s.kind for s in spans}:  # a kind's spans neither overlap nor touch
        same = [s for s in spans if s.kind == kind and s.url is None]
        assert all(a.end < b.start for a, b in itertools.pairwise(same))


# ---- plain body: the reply fallback ---------------------------------------------------------


def test_reply_fallback_in_the_body_is_removed() -> None:
    body = "> <@alice:example.org> This is the first line\n> This is the second line\n\nThe reply"
    assert strip_reply_fallback(body) == "The reply"
    emote = "> * <@alice:example.org> feels like a great day\n\nme too\n\n> quoted later"
    assert strip_reply_fallback(emote) == "me too\n\n> quoted later"
    assert (
        strip_reply_fallback("> <@a:b> sent an image.\n>\n> more\n\nnice\nphoto") == "nice\nphoto"
    )


@pytest.mark.parametrize(
    "body",
    [
        "no fallback here\n> quoted later\n\nx",
        ">no space\n\nreply",
        "> a quote straight\nfollowed by text",
        "> only a quote",
        "",
        "\n> x",
    ],
)
def test_a_body_without_the_fallback_shape_is_unchanged(body: str) -> None:
    assert strip_reply_fallback(body) == body


# ---- delivery → (body, formatted_body) ------------------------------------------------------


def test_layout_of_a_translated_copy() -> None:
    d = copy(
        "Wir kommen",
        attribution="Ana (CDMX)",
        translated=True,
        source_language="es",
        original="Vamos",
        spans=(span(4, 10, "bold"),),
    )
    assert render_parts(d) == [
        (
            "Ana (CDMX)\nWir kommen\n· translated from Spanish\nVamos",
            "<b>Ana (CDMX)</b><br>Wir <b>kommen</b><br><i>· translated from Spanish</i><br>"
            "<blockquote>Vamos</blockquote>",
        )
    ]


def test_untranslated_note_and_notices() -> None:
    d = copy("hola", attribution="Ana", untranslated=True, source_language="es")
    assert render_parts(d) == [
        (
            "Ana\nhola\n· not translated (from Spanish)",
            "<b>Ana</b><br>hola<br><i>· not translated (from Spanish)</i>",
        )
    ]
    notice = copy("bridge paused", notice=True, attribution="x", translated=True, original="y")
    assert render_parts(notice) == [("bridge paused", "bridge paused")]
    assert render_parts(copy(" \n\t ")) == []
    assert render_parts(copy("")) == []


def test_every_kind_of_span() -> None:
    text = "b i u s c p sp L @ana @bo"
    spans = (
        span(0, 1, "bold"),
        span(2, 3, "italic"),
        span(4, 5, "underline"),
        span(6, 7, "strike"),
        span(8, 9, "code"),
        span(10, 11, "pre"),  # within a line: inline code, a block would break the line
        span(12, 14, "spoiler"),
        span(15, 16, "link", 'https://example.org/?a="b"&c=<d>\''),
        span(17, 21, "mention", ANA),
        span(22, 25, "mention", "telegram:2001"),
    )
    [(body, formatted)] = render_parts(copy(text, spans=spans))
    assert body == text
    assert formatted == (
        "<b>b</b> <i>i</i> <u>u</u> <del>s</del> <code>c</code> <code>p</code> "
        "<span data-mx-spoiler>sp</span> "
        '<a href="https://example.org/?a=&quot;b&quot;&amp;c=&lt;d&gt;&#x27;">L</a> '
        f'<a href="{ANA}">@ana</a> @bo'
    )
    assert shown(formatted) == text


def test_pre_block_on_its_own_lines() -> None:
    text = "run this:\nmake  all\n  && go\nthen wait\n\ndone"
    start = text.index("make")
    block = span(start, text.index("\nthen"), "pre")
    [(body, formatted)] = render_parts(copy(text, spans=(block,)))
    assert (
        formatted
        == "run this:<br><pre><code>make  all\n  &amp;&amp; go</code></pre>then wait<br><br>done"
    )
    assert shown(formatted) == body == text
    assert html_to_spans(formatted) == (text, (block,))


@pytest.mark.parametrize(
    "href",
    ["javascript:alert(1)", " JaVaScRiPt:alert(1)", "data:text/html,x", "tg://user?id=1", ""],
)
def test_unsafe_link_spans_are_plain_text(href: str) -> None:
    spans = (span(0, 5, "link", href), span(6, 10, "mention", href))
    assert render_parts(copy("click here", spans=spans)) == [("click here", "click here")]


def test_user_text_arrives_literally() -> None:
    text = "<b>x</b> & &amp; <script>alert(1)</script> \"quoted\" 'single'"
    d = copy(text, attribution='Bo <i> & "co"', original="</blockquote><b>&")
    [(body, formatted)] = render_parts(d)
    assert body == f'Bo <i> & "co"\n{text}\n</blockquote><b>&'
    assert formatted.startswith(
        "<b>Bo &lt;i&gt; &amp; &quot;co&quot;</b><br>&lt;b&gt;x&lt;/b&gt; &amp; &amp;amp; "
        "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &#x27;single&#x27;"
    )
    assert shown(formatted) == body
    assert html_to_spans(formatted)[0] == body
    assert html_to_spans(formatted)[1] == (span(0, 13, "bold"),)


def test_rtl_override_controls_and_zero_width_are_kept_and_escaped() -> None:
    text = "a\u202e<evil>\u202c \u200b\u200d\ufeff x\x00\x07\x7f"
    [(body, formatted)] = render_parts(copy(text))
    assert body == text
    assert formatted == "a\u202e&lt;evil&gt;\u202c \u200b\u200d\ufeff x\x00\x07\x7f"
    assert shown(formatted) == text


def test_lone_surrogates_become_replacement_characters() -> None:
    [(body, formatted)] = render_parts(copy("a\ud800b", attribution="\udfff"))
    assert body == "\ufffd\na\ufffdb"
    assert formatted == "<b>\ufffd</b><br>a\ufffdb"


def test_a_60_kb_text_is_split_and_nothing_is_lost() -> None:
    sentences = [f'Sentence {i} says <what> & "why" we meet. ' for i in range(1500)]
    text = "".join(sentences).strip()
    assert len(text.encode()) > 60_000
    spans = (span(0, 8, "bold"), span(30_000, 30_050, "code"))
    parts = render_parts(copy(text, attribution="Ana (Lisbon)", spans=spans))
    assert len(parts) > 2
    check(parts, text, 32_000, ("Ana (Lisbon)", "Ana (Lisbon), continued"))
    assert parts[0][1].startswith("<b>Ana (Lisbon)</b><br><b>Sentence</b> 0 says")
    for body, _ in parts:
        assert body.endswith(".")  # cut after a sentence
    bodies = "".join(body.split("\n", 1)[1] for body, _ in parts)
    assert re.sub(r"\s", "", bodies) == re.sub(r"\s", "", text)


def test_heavy_markup_counts_toward_the_limit() -> None:
    text = " ".join("&<>" for _ in range(4000))  # 20 bytes of HTML per 3 characters
    spans = tuple(span(i, i + 1, "bold") for i in range(0, len(text), 8))
    parts = render_parts(copy(text, spans=spans), limit=4_000)
    check(parts, text, 4_000)


def test_ten_thousand_emoji() -> None:
    text = "✊🏾" * 5_000 + "🕊" * 5_000  # 8 and 4 bytes, in the body and again as HTML
    parts = render_parts(copy(text))
    bodies = [body for body, _ in parts]
    assert "".join(bodies) == text
    assert len(parts) == 4  # 120,000 bytes
    check(parts, text, 32_000)
    for body in bodies:  # no skin tone torn from its fist
        assert body.replace("✊🏾", "").replace("🕊", "") == ""


@pytest.mark.parametrize("limit", [32_000, 1_000, 100])
def test_grapheme_clusters_stay_whole(limit: int) -> None:
    clusters = ["🧑🏾‍🤝‍🧑🏻", "🇲🇽", "a\u0308\u0331", "🏴‍☠️", "ก\u0e34", "\r\n", "y"]
    text = "".join(clusters * 700)
    bounds = grapheme_bounds(text)
    where = check(render_parts(copy(text), limit=limit), text, limit)
    assert {start for start, _ in where} | {end for _, end in where} <= bounds


def test_a_link_that_fits_is_not_cut() -> None:
    url = "https://example.org/" + "p" * 100
    before, after = "see this. " * 2_300, " and so on." * 900
    link = span(len(before), len(before) + len(url), "link", url)
    parts = render_parts(copy(before + url + after, spans=(link,)))
    check(parts, before + url + after, 32_000)
    [holder] = [formatted for _, formatted in parts if "<a " in formatted]
    assert f'<a href="{url}">{url}</a>' in holder


def test_a_long_pre_block_is_cut_on_lines_and_reopened() -> None:
    lines = "\n".join(f"{i:05d} | tenants & landlords <log>" for i in range(2_500))
    text = f"the log:\n{lines}\nthat is all"
    block = span(len("the log:\n"), len("the log:\n") + len(lines), "pre")
    parts = render_parts(copy(text, spans=(block,)))
    assert len(parts) >= 3
    check(parts, text, 32_000)
    assert parts[0][1].startswith(
        "the log:<br><pre><code>00000 | tenants &amp; landlords &lt;log&gt;"
    )
    for body, formatted in parts[:-1]:
        assert body.endswith("<log>")  # cut at a line end
        assert formatted.endswith("</code></pre>")
    for _, formatted in parts[1:]:
        assert formatted.startswith("<pre><code>")
    assert parts[-1][1].endswith("&lt;log&gt;</code></pre>that is all")


def test_the_attribution_opens_every_part_and_the_notes_close_the_last() -> None:
    text = "\n\n".join(f"Paragraph {i}: the assembly met again." for i in range(2_000))
    d = copy(
        text, attribution="Ana (CDMX)", untranslated=True, source_language="es", original="corto"
    )
    parts = render_parts(d)
    assert len(parts) >= 3
    where = check(parts, layout(d), 32_000, ("Ana (CDMX)", "Ana (CDMX), continued"))
    assert all(layout(d)[end : end + 2] == "\n\n" for _, end in where[:-1])  # paragraph ends
    assert parts[0][0].startswith("Ana (CDMX)\nParagraph 0:")
    assert parts[-1][1].endswith(f"<i>· {footer(d)}</i><br><blockquote>corto</blockquote>")
    for body, formatted in parts[1:]:  # a later part never opens with a line of the sender's
        assert body.startswith("Ana (CDMX), continued\nParagraph ")
        assert formatted.startswith("<b>Ana (CDMX), continued</b><br>Paragraph ")
    assert not any(footer(d) in body for body, _ in parts[:-1])


def test_formatting_that_cannot_fit_is_dropped_not_the_text() -> None:
    d = copy("x & y", spans=tuple(span(0, 1, "bold") for _ in range(10_000)))
    assert render_parts(d) == [("x & y", "x &amp; y")]


def test_limit_too_small() -> None:
    with pytest.raises(ValueError, match="at least"):
        render_parts(copy("x"), limit=10)


# ---- round trip: spans → HTML → spans --------------------------------------------------------


def test_round_trip_keeps_kinds_and_offsets() -> None:
    text = (
        "Blockade tomorrow at 7\nbring banners & water <please>\n"
        "make signs\n  with paint\n\nask Ana or see the plan, then 😀"
    )

    def on(words: str, kind: SpanKind, url: str | None = None) -> Span:
        start = text.index(words)
        return span(start, start + len(words), kind, url)

    spans = (
        on("Blockade", "bold"),
        on("tomorrow", "italic"),
        on("orrow at 7", "underline"),  # crosses the italic one
        on("bring", "strike"),
        on("water", "code"),
        on("<please>", "spoiler"),
        on("make signs\n  with paint", "pre"),
        on("Ana", "mention", ANA),
        on("the plan", "link", "https://example.org/plan?a=1&b=<2>"),
        on("😀", "bold"),
    )
    [(body, formatted)] = render_parts(copy(text, spans=spans))
    assert body == text
    back_text, back_spans = html_to_spans(formatted)
    assert back_text == text
    assert set(back_spans) == set(spans)


WORDS = st.lists(
    st.sampled_from([*"abcXYZ&<>\"'.!?é😀\u202e\u200d", "🇩🇪", "e\u0301"]),
    min_size=1,
    max_size=6,
).map("".join)
LINKS = ['https://example.org/?q="x"&y=<z>\'', "mailto:ana@example.org", ANA]


INLINE: list[SpanKind] = ["bold", "italic", "underline", "strike", "code", "spoiler"]


@st.composite
def tidy(draw: st.DrawFn) -> tuple[str, tuple[Span, ...]]:
    """Text that HTML shows as it is (single spaces and line breaks between words) with at
    most one span of each kind, each covering whole words; a pre block covers whole lines."""
    words = draw(st.lists(WORDS, min_size=1, max_size=12))
    gaps = draw(st.lists(st.sampled_from([" ", "\n"]), min_size=len(words), max_size=len(words)))
    text = words[0]
    starts, ends = [0], [len(text)]
    for word, gap in zip(words[1:], gaps, strict=False):
        text += gap
        starts.append(len(text))
        text += word
        ends.append(len(text))

    def over(words: tuple[int, int], kind: SpanKind, url: str | None = None) -> Span:
        return span(starts[min(words)], ends[max(words)], kind, url)

    some = st.tuples(st.integers(0, len(words) - 1), st.integers(0, len(words) - 1))
    spans = [over(draw(some), kind) for kind in draw(st.sets(st.sampled_from(INLINE)))]
    link = draw(st.sampled_from([None, *LINKS]))
    if link:  # one link at most: links do not nest in HTML
        spans.append(over(draw(some), "mention" if link == ANA else "link", link))
    if draw(st.booleans()):
        lines = [0, *(i + 1 for i, gap in enumerate(gaps[: len(words) - 1]) if gap == "\n")]
        first, last = sorted(draw(st.tuples(st.sampled_from(lines), st.sampled_from(lines))))
        line_end = min([i - 1 for i in lines if i > last], default=len(words) - 1)
        spans = [s for s in spans if s.kind != "code"]  # code in a pre block is the block
        spans.append(over((first, line_end), "pre"))
    return text, tuple(spans)


@settings(max_examples=300, deadline=None)
@given(case=tidy())
def test_round_trip_of_tidy_text(case: tuple[str, tuple[Span, ...]]) -> None:
    text, spans = case
    [(body, formatted)] = render_parts(copy(text, spans=spans))
    assert body == text
    back_text, back_spans = html_to_spans(formatted)
    assert back_text == text
    assert set(back_spans) == set(spans)


# ---- the property --------------------------------------------------------------------------

HOSTILE = st.sampled_from(
    [
        "<br>",
        "</code></pre><br>",
        "<mx-reply>",
        "&#x27;",
        "&lt;",
        "\\",
        '"',
        "\u2028",
        "\x00",
        "\x1b",
        "\ud83d",
        "\udc00",
        "\u202e",
        "\u2066",
        "\u200d",
        "\ufeff",
        "\r\n",
        "\n",
        "\n\n\n",
        "\t",
        "  ",
        "? ",
        "\uff01",  # a fullwidth "!" ends a sentence too
        "🕊",
        "✊🏾",
        "🇲🇽",
        "🧑🏾‍🤝‍🧑🏻",
        "a\u0308",
        "asamblea",
    ]
)
CHUNKS = st.lists(st.one_of(HOSTILE, st.text(max_size=4)), max_size=40).map("".join)
URLS = st.sampled_from([None, *LINKS, "javascript:alert(1)", "\udfff", f"{ANA}\u202e", "x"])
SPAN_KINDS: list[SpanKind] = [
    "bold", "italic", "underline", "strike", "code", "pre", "link", "mention", "spoiler"
]  # fmt: skip


@st.composite
def anything(draw: st.DrawFn) -> Delivery:
    """Any delivery: hostile text, spans in and out of range, every flag."""
    text = draw(CHUNKS)
    offset = st.integers(0, len(text) + 2)
    raw = st.tuples(offset, offset, st.sampled_from(SPAN_KINDS), URLS)
    spans = tuple(
        Span(start=a, end=b, kind=k, url=u) for a, b, k, u in draw(st.lists(raw, max_size=8))
    )
    fields = draw(
        st.fixed_dictionaries(
            {
                "attribution": st.one_of(st.just(""), st.just("Bo <&> (Wien)"), CHUNKS),
                "original": st.one_of(st.just(""), CHUNKS),
                "translated": st.booleans(),
                "untranslated": st.booleans(),
                "notice": st.booleans(),
            }
        )
    )
    return copy(text, spans=spans, source_language="es", **fields)


@settings(max_examples=300, deadline=None)
@given(d=anything(), limit=st.one_of(st.integers(32, 120), st.just(32_000)))
def test_any_delivery_renders_to_valid_parts(d: Delivery, limit: int) -> None:
    parts = render_parts(d, limit=limit)
    expected = layout(d)
    where = check(parts, expected, limit, heads(d, limit))
    if not expected.strip() and not heads(d, limit)[0]:
        assert parts == []
    tags = 100 + sum(40 + 6 * len(s.url or "") for s in d.spans)  # at most, around one cluster
    if all(12 * len(m.group().encode()) + tags < limit for m in regex.finditer(r"\X", expected)):
        bounds = grapheme_bounds(expected)
        assert all(start in bounds and end in bounds for start, end in where)
