"""10,000 hostile messages through the renderers of both platforms, as they come in and as
their copies go out: nothing raises, the copy's text is the sender's, and no markup the
sender typed becomes markup in the copy."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from bots.matrix import render as matrix_render
from bots.telegram import render as telegram_render
from bridge.model.envelope import Delivery, Span
from tests.bots.test_matrix_render import check as check_matrix
from tests.bots.test_matrix_render import heads, layout
from tests.bots.test_telegram_render import check_parts, expected_heads, expected_text
from tests.reliability.hostile import (
    MATRIX_TAGS,
    TELEGRAM_TAGS,
    Hostile,
    assert_no_injected_markup,
    delivery,
    heading_openings,
    hostile_messages,
)

EXAMPLES = 10_000  # in all, of which
BIG_EXAMPLES = 5  # with texts of 100 KB
TELEGRAM_LIMIT = 4096
MATRIX_LIMIT = 32_000
JOINERS = {"\u200c", "\u200d"}  # invisible, kept in headings: emoji and scripts need them

LAYOUTS: list[dict[str, object]] = [
    {},  # a plain copy, attributed
    {"translated": True, "source_language": "es", "original": "<b>original</b> & \u202e"},
    {"untranslated": True, "source_language": "es"},
    {"notice": True},
    {"callout": True},  # a call-out: the marker opens its heading, and only there
]


def assert_spans_fit(text: str, spans: tuple[Span, ...]) -> None:
    for span in spans:
        assert 0 <= span.start < span.end <= len(text), (span, len(text))


def render_both(d: Delivery) -> None:
    """The copy as Telegram and as Matrix would get it: valid, the whole text, each part
    opened by its heading (one line: no control or bidi character, no call-out marker
    unless it is a call-out), no injection."""
    first, rest = expected_heads(d, TELEGRAM_LIMIT)
    parts = telegram_render.render_parts(d, TELEGRAM_LIMIT)
    check_parts(parts, expected_text(d), TELEGRAM_LIMIT, (first, rest))
    opened = heading_openings(d, len(parts), matrix=False)
    assert_no_injected_markup(parts, d, TELEGRAM_TAGS, "blockquote", opened)
    first, rest = heads(d, MATRIX_LIMIT)
    events = matrix_render.render_parts(d, MATRIX_LIMIT)
    check_matrix(events, layout(d), MATRIX_LIMIT, (first, rest))
    opened = heading_openings(d, len(events), matrix=True)
    formatted = [formatted for _, formatted in events]
    assert_no_injected_markup(formatted, d, MATRIX_TAGS, "blockquote", opened)
    for head in (first, rest):
        hidden = [ch for ch in head if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]
        assert set(hidden) <= JOINERS, repr(head)  # one line, no controls or bidi
        assert ("\N{POSTAL HORN}" in head) == (d.callout and bool(head)), repr(head)


def both_ways(message: Hostile, shape: dict[str, object]) -> None:
    attribution = f"{message.name} (CDMX)"
    # from Telegram: entities, however malformed, become spans within the text or nothing
    spans = telegram_render.entities_to_spans(message.text, message.entities)
    assert_spans_fit(message.text, spans)
    for span in spans:
        if span.kind == "link":
            assert telegram_render.safe_url(span.url or "") is not None, span
    render_both(delivery(message.text, spans, attribution=attribution, **shape))
    # from Matrix: a formatted_body, however broken, becomes text and spans
    text, found = matrix_render.html_to_spans(message.formatted)
    assert_spans_fit(text, found)
    render_both(delivery(text, found, attribution=attribution, **shape))


@settings(max_examples=EXAMPLES - BIG_EXAMPLES, deadline=None, derandomize=True, database=None)
@given(message=hostile_messages(), shape=st.sampled_from(LAYOUTS))
def test_hostile_messages_render_as_text_on_both_platforms(
    message: Hostile, shape: dict[str, object]
) -> None:
    both_ways(message, shape)


@settings(max_examples=BIG_EXAMPLES, deadline=None, derandomize=True, database=None)
@given(message=hostile_messages(big=True), shape=st.sampled_from(LAYOUTS))
def test_hostile_100_kb_messages_render_as_text_on_both_platforms(
    message: Hostile, shape: dict[str, object]
) -> None:
    both_ways(message, shape)
