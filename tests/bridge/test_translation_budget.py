"""A daily character budget per translation provider: past it, originals with a note, and
one notice to ops_room (never a text)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from sandbox.libretranslate import LibreTranslateServer
from tests.harness import eventually, memory_config, running
from tests.memory_bot import MemoryNetwork

TEXTS = [f"La asamblea de vecinos es mañana número {i}" for i in range(6)]


@pytest.fixture
async def libre() -> AsyncIterator[LibreTranslateServer]:
    async with LibreTranslateServer() as server:
        yield server


def sent_to(net: MemoryNetwork, chat: str) -> list[tuple[bool, bool]]:
    """(translated, untranslated-with-a-note) of each copy that reached ``chat``."""
    return [
        (d.delivery.translated, d.delivery.untranslated)
        for d in net.sends_to(chat)
        if d.delivery is not None and not d.delivery.notice
    ]


async def test_a_flood_past_the_daily_budget_crosses_untranslated_with_one_ops_notice(
    tmp_path: Path, redis_url: str, redis_client: Redis, libre: LibreTranslateServer
) -> None:
    budget = 2 * 2 * len(TEXTS[0])  # two messages, into two languages
    loaded = memory_config(
        tmp_path, redis_url, ops_room="nyc",
        translation={"providers": [{"name": "libretranslate", "url": libre.url}],
                     "daily_char_budget": budget},
    )  # fmt: skip
    async with running(loaded) as (_, net):
        for text in TEXTS:
            await net.bot("a").post("a1", text)
        await eventually(lambda: len(sent_to(net, "b1")) == len(TEXTS), what="every copy")
        await eventually(lambda: len(sent_to(net, "c1")) == len(TEXTS), what="every copy")
        await eventually(
            lambda: any(m.notice for m in net.seen_in("c1")), what="the operator's notice"
        )
        berlin = sent_to(net, "b1")
        told = [m.text for m in net.seen_in("c1") if m.notice]
    assert berlin[:2] == [(True, False), (True, False)]
    assert berlin[2:] == [(False, True)] * (len(TEXTS) - 2)  # the original, with a note
    assert len(told) == 1, told
    assert "libretranslate" in told[0]
    assert "asamblea" not in told[0]
    assert not [m for m in net.seen_in("a1") + net.seen_in("b1") if m.notice]
