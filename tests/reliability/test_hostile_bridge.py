"""10,000 hostile messages through one running bridge with in-memory bots, in batches.

Two rooms: in one, messages come in as Telegram gives them (text and malformed entities),
and their copies are rendered as Telegram HTML; in the other, they come in as a Matrix
formatted_body, and copies are rendered as Matrix HTML. They cross the real relay,
deliverers and Redis. Every message arrives once in the other room, with the sender's text
exactly, and no copy shows markup the sender typed.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import redis.asyncio
from hypothesis import HealthCheck, Phase, given, settings

from bots.matrix import render as matrix_render
from bots.telegram import render as telegram_render
from bridge.model.envelope import Span
from tests.harness import eventually, memory_config, running
from tests.memory_bot import MemoryNetwork
from tests.reliability import hostile
from tests.reliability.hostile import (
    MATRIX_TAGS,
    TELEGRAM_TAGS,
    Hostile,
    assert_no_injected_markup,
    errors,
    hostile_messages,
)

MESSAGES = 10_000  # in all, of which
BIG_MESSAGES = 10  # with texts of 100 KB
BATCH = 1_000
# a Telegram-like room and a Matrix-like one: what comes from one is rendered for the other
ROOMS = [("a", "a1"), ("b", "b1")]
RENDERED_AS = {"a1": "telegram", "b1": "matrix"}
ID = re.compile(r"^m(\d{5})\|")


def draw(count: int, *, big: bool) -> list[Hostile]:
    """``count`` messages from the strategy, the same ones on every run."""
    found: list[Hostile] = []

    @settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile_messages(big=big, surrogates=False))
    def collect(message: Hostile) -> None:
        found.append(message)

    collect()
    assert len(found) == count
    return found


def shifted(spans: tuple[Span, ...], by: int) -> tuple[Span, ...]:
    return tuple(s.model_copy(update={"start": s.start + by, "end": s.end + by}) for s in spans)


def as_posted(i: int, message: Hostile) -> tuple[str, tuple[Span, ...]]:
    """Message ``i`` as an adapter hands it to the bridge: in the Telegram-like room read
    from Telegram's text and entities, in the Matrix-like one from a formatted_body (big
    texts always from their text). Its id opens it."""
    prefix = f"m{i:05d}|"
    if RENDERED_AS[ROOMS[i % 2][1]] == "telegram" or len(message.text) >= hostile.BIG:
        spans = telegram_render.entities_to_spans(message.text, message.entities)
        return prefix + message.text, shifted(spans, len(prefix))
    text, spans = matrix_render.html_to_spans(message.formatted)
    return prefix + text, shifted(spans, len(prefix))


def check_copies(net: MemoryNetwork, posted: dict[int, tuple[str, str, tuple[Span, ...]]]) -> None:
    copies: Counter[tuple[int, str]] = Counter()
    for d in net.log:
        if d.action != "send":
            continue
        found = ID.match(d.body)
        assert found, f"a copy that was never posted: {d.body[:40]!r}"
        i = int(found.group(1))
        origin, text, spans = posted[i]
        copies[i, d.chat] += 1
        assert d.body == text, f"m{i:05d}: the copy's text differs"
        assert d.delivery is not None
        # the relay keeps the sender's formatting, or drops it all when it notes the copy as
        # not translated (a text it took for another language); it never invents any
        assert d.delivery.spans in (spans, ()), f"m{i:05d}: spans changed"
        if RENDERED_AS[d.chat] == "telegram":
            parts = telegram_render.render_parts(d.delivery)
            assert_no_injected_markup(parts, d.delivery, TELEGRAM_TAGS, "blockquote")
        else:
            events = matrix_render.render_parts(d.delivery)
            formatted = [html for _, html in events]
            assert_no_injected_markup(formatted, d.delivery, MATRIX_TAGS, "blockquote")
    for i, (origin, _, _) in posted.items():
        for _, chat in ROOMS:
            if chat != origin:
                assert copies[i, chat] == 1, f"m{i:05d} arrived {copies[i, chat]} times in {chat}"


async def test_ten_thousand_hostile_messages_cross_once_each_as_text(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    messages = draw(MESSAGES - BIG_MESSAGES, big=False)
    for k, big in enumerate(draw(BIG_MESSAGES, big=True)):  # spread among the others
        messages.insert(k * MESSAGES // BIG_MESSAGES + 7, big)
    rooms = [
        {"id": f"r{chat}", "bot": bot, "chat": chat, "language": "es", "label": f"<b>{chat}</b>"}
        for bot, chat in ROOMS
    ]
    circles = [{"id": "net", "rooms": [r["id"] for r in rooms], "relay": "all"}]
    bots = [{"id": bot, "platform": "memory"} for bot, _ in ROOMS]
    loaded = memory_config(tmp_path, redis_url, bots=bots, rooms=rooms, circles=circles)
    posted: dict[int, tuple[str, str, tuple[Span, ...]]] = {}
    async with running(loaded) as (app, net):
        for start in range(0, len(messages), BATCH):
            for i in range(start, min(start + BATCH, len(messages))):
                text, spans = as_posted(i, messages[i])
                name = messages[i].name
                bot, chat = ROOMS[i % 2]
                await net.bot(bot).post(chat, text, name=name or "?", spans=spans)
                posted[i] = (chat, text, spans)
            want = len(posted)
            await eventually(
                lambda want=want: len(net.log) >= want,  # type: ignore[misc]
                timeout=120,
                what=f"{want} copies",
            )
        assert [d.dead_letters for d in app.deliverers.values()] == [0, 0]
    assert len(posted) == MESSAGES
    assert sum(len(text) > hostile.BIG for _, text, _ in posted.values()) == BIG_MESSAGES
    check_copies(net, posted)
    assert errors(caplog) == []


async def test_a_lone_surrogate_crosses_as_a_replacement_character(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await net.bot("a").post("a1", "broken \ud800 <b>text</b>", name="Ana\udfff")
        await net.bot("a").post("a1", "the next message")
        await eventually(lambda: len(net.sends_to("b1")) >= 2, timeout=10)
    assert [d.body for d in net.sends_to("b1")] == ["broken \ufffd <b>text</b>", "the next message"]


async def test_an_untranslated_copy_keeps_the_senders_formatting(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    rooms = [
        {"id": "cdmx", "bot": "a", "chat": "a1", "language": "es", "label": "CDMX"},
        {"id": "berlin", "bot": "b", "chat": "b1", "language": "de", "label": "Berlin"},
    ]
    circles = [{"id": "net", "rooms": ["cdmx", "berlin"], "relay": "all"}]
    bots = [{"id": b, "platform": "memory"} for b in ("a", "b")]
    loaded = memory_config(tmp_path, redis_url, bots=bots, rooms=rooms, circles=circles)
    text = "Bloqueo mañana a las 7, ver el plan"
    spans = (
        Span(start=0, end=7, kind="bold"),
        Span(start=28, end=35, kind="link", url="https://example.org/plan"),
    )
    async with running(loaded) as (_, net):  # no translation provider: copies go as they are
        await net.bot("a").post("a1", text, spans=spans)
        await eventually(lambda: len(net.sends_to("b1")) == 1)
    [copy] = net.sends_to("b1")
    assert copy.delivery is not None
    assert copy.delivery.untranslated  # said so in the copy
    assert copy.delivery.spans == spans
