"""10,000 hostile messages through the renderers of both platforms, as they come in and as
their copies go out: nothing raises, the copy's text is the sender's, and no markup the
sender typed becomes markup in the copy."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bots.matrix import render as matrix_render
from bots.telegram import render as telegram_render
from bridge.model.envelope import Delivery, Span
from tests.bots.test_matrix_render import check as check_matrix
from tests.bots.test_matrix_render import layout
from tests.bots.test_telegram_render import check_parts, expected_text
from tests.reliability.hostile import (
    MATRIX_TAGS,
    TELEGRAM_TAGS,
    Hostile,
    assert_no_injected_markup,
    delivery,
    hostile_messages,
)

EXAMPLES = 10_000  # in all, of which
BIG_EXAMPLES = 5  # with texts of 100 KB
TELEGRAM_LIMIT = 4096
MATRIX_LIMIT = 32_000

LAYOUTS: list[dict[str, object]] = [
    {},  # a plain copy, attributed
    {"translated": True, "source_language": "es", "original": "<b>original</b> & \u202e"},
    {"untranslated": True, "source_language": "es"},
    {"notice": True},
]


def assert_spans_fit(text: str, spans: tuple[Span, ...]) -> None:
    for span in spans:
        assert 0 <= span.start < span.end <= len(text), (span, len(text))


def render_both(d: Delivery) -> None:
    """The copy as Telegram and as Matrix would get it: valid, the whole text, no injection."""
    parts = telegram_render.render_parts(d, TELEGRAM_LIMIT)
    check_parts(parts, expected_text(d), TELEGRAM_LIMIT)
    assert_no_injected_markup(parts, d, TELEGRAM_TAGS, "blockquote")
    events = matrix_render.render_parts(d, MATRIX_LIMIT)
    check_matrix(events, layout(d), MATRIX_LIMIT)
    assert_no_injected_markup([formatted for _, formatted in events], d, MATRIX_TAGS, "blockquote")


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
