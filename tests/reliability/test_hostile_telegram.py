"""A sample of the hostile messages through the real Telegram adapter and the sandbox Bot
API server: written by a member in a Telegram group, and coming from an in-memory room.

What the bot sends is read twice: the HTML of each sendMessage as it went over the wire,
and the text and entities the group then shows. Both must be the sender's text with only the
sender's formatting (and the bridge's attribution in bold).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings

from bots.telegram.render import entities_to_spans
from bridge.config.load import LoadedConfig
from bridge.model.envelope import Delivery, Span
from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import ANA, BERLIN, CDMX, telegram_world, world_config
from tests.harness import eventually, running
from tests.reliability.hostile import (
    TELEGRAM_TAGS,
    Hostile,
    allowed_markup,
    assert_no_injected_markup,
    delivery,
    errors,
    heads,
    hostile_messages,
    untranslated,
    utf16_len,
)

SAMPLE = 30  # from each side
MAX_UNITS = 3500  # so that a copy, attribution included, is one message
ID = re.compile(r"m(\d{5})\|")
ENTITY_TAGS = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "code": "code",
    "pre": "pre",
    "spoiler": "tg-spoiler",
    "text_link": "a",
    "blockquote": "blockquote",
    "expandable_blockquote": "blockquote",
}


class RecordingServer(BotApiServer):
    """The sandbox, keeping the text parameter of every sendMessage and editMessageText as
    the bot sent it (the HTML, before the server parses it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sent_html: list[tuple[str, str]] = []  # (chat_id, text)

    def application(self) -> web.Application:
        app = super().application()

        @web.middleware
        async def record(
            request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
        ) -> web.StreamResponse:
            response = await handler(request)  # it reads the body: then it is cached
            method = request.path.rsplit("/", 1)[-1].lower()
            if method in ("sendmessage", "editmessagetext") and request.method == "POST":
                if request.content_type == "application/json":
                    values = await request.json()
                else:
                    values = dict(await request.post())
                self.sent_html.append((str(values.get("chat_id")), str(values.get("text"))))
            return response

        app.middlewares.append(record)
        return app


@pytest.fixture
async def tg() -> AsyncIterator[RecordingServer]:
    async with telegram_world(RecordingServer(limits=False)) as server:
        yield server


def config(tmp_path: Path, redis_url: str, tg: BotApiServer) -> LoadedConfig:
    """The world with every room in Spanish, the bots pacing as on the faster sandbox."""
    return world_config(tmp_path, redis_url, tg, berlin="es", nyc="es",
                        bot_options={"limits_scale": 0.01})  # fmt: skip


def sample(count: int) -> list[Hostile]:
    """Hostile messages Telegram itself would accept: entities of known types within the
    text (though often inside a surrogate pair), no lone surrogates."""
    found: list[Hostile] = []

    @settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile_messages(surrogates=False, valid=True))
    def collect(message: Hostile) -> None:
        found.append(message)

    collect()
    return found


def fitted(i: int, message: Hostile) -> tuple[str, list[dict[str, Any]]]:
    """The message with its id first, cut to fit one copy, entities moved along."""
    prefix = f"m{i:05d}|"
    text = message.text
    while utf16_len(prefix + text) > MAX_UNITS:
        text = text[: len(text) // 2]
    size = utf16_len(text)
    entities = [
        {**e, "offset": e["offset"] + len(prefix)}
        for e in message.entities
        if e["offset"] + e["length"] <= size
    ]
    return prefix + text, entities


def copy_as_expected(text: str, spans: tuple[Span, ...], label: str, shown: str) -> Delivery:
    """The delivery the relay made for a copy, rebuilt from the origin: the original with its
    formatting, or, when the relay took the text for another language and could not translate
    it (no provider here), the same with a note in the room's language."""
    note = untranslated(shown)
    if note:
        return delivery(
            text, spans, attribution=f"Ana ({label})", untranslated=True, language=note[0],
            source_language=note[1],
        )  # fmt: skip
    return delivery(text, spans, attribution=f"Ana ({label})")


def check_entities(message: dict[str, Any], d: Delivery) -> None:
    """The copy shows the document, and each of its formatting entities stands only where
    the sender's formatting (or the attribution) was."""
    doc, allowed = allowed_markup(d, TELEGRAM_TAGS, "blockquote", heads(d, matrix=False)[0])
    assert message["text"] == doc.strip(), "the copy's text is not the sender's"
    lead = len(doc) - len(doc.lstrip())
    units = [0]
    for ch in message["text"]:
        units.append(units[-1] + utf16_len(ch))
    at = {unit: i for i, unit in enumerate(units)}
    for entity in message.get("entities", []):
        tag = ENTITY_TAGS.get(entity["type"])
        if tag is None:
            continue  # found by Telegram in the text (URLs, mentions, hashtags): not markup
        start, end = at[entity["offset"]], at[entity["offset"] + entity["length"]]
        for i in range(start + lead, end + lead):
            assert any(t == tag for t, _ in allowed[i]), f"{entity} covers {doc[i]!r}"


async def test_hostile_messages_through_the_telegram_adapter_arrive_as_text(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: RecordingServer,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    messages = sample(2 * SAMPLE)
    origins: dict[int, tuple[str, str, tuple[Span, ...]]] = {}  # id -> (label, text, spans)
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        for i, message in enumerate(messages):
            text, entities = fitted(i, message)
            if i % 2 == 0:  # a member writes in the Telegram group
                shown = tg.post(CDMX, ANA, text, entities=entities)
                spans = entities_to_spans(shown["text"], shown.get("entities", []))
                origins[i] = ("CDMX", shown["text"], spans)
            else:  # from elsewhere, with the formatting Telegram gave it
                spans = entities_to_spans(text, entities)
                await net.bot("mem").post("nyc", text, spans=spans)
                origins[i] = ("NYC", text, spans)
        await eventually(
            lambda: len(tg.messages(BERLIN)) >= 2 * SAMPLE and len(net.log) >= SAMPLE,
            timeout=60,
            what="every copy",
        )
    arrived: Counter[tuple[int, int]] = Counter()
    for chat in (BERLIN, CDMX):
        for copy in tg.messages(chat):
            if copy["author_id"] == ANA:
                continue
            found = ID.search(copy["text"])
            assert found, copy["text"][:60]
            i = int(found.group(1))
            arrived[chat, i] += 1
            label, text, spans = origins[i]
            check_entities(copy, copy_as_expected(text, spans, label, copy["text"]))
    for i, (label, _, _) in origins.items():
        assert arrived[BERLIN, i] == 1, f"m{i:05d} arrived {arrived[BERLIN, i]} times in Berlin"
        assert arrived[CDMX, i] == (1 if label == "NYC" else 0)
    # what went over the wire: only the sender's formatting became tags, and it nests
    assert len(tg.sent_html) == 3 * SAMPLE
    for _, html in tg.sent_html:
        found = ID.search(html)
        assert found, html[:60]
        label, text, spans = origins[int(found.group(1))]
        d = copy_as_expected(text, spans, label, re.sub(r"<[^>]*>", "", html))
        assert_no_injected_markup([html], d, TELEGRAM_TAGS, "blockquote")
    # and the copies that left Telegram carry its text exactly, once each
    in_nyc = [d.body for d in net.log]
    assert sorted(in_nyc) == sorted(text for label, text, _ in origins.values() if label == "CDMX")
    assert errors(caplog) == []  # nothing failed on the way
