"""The circles' translation memory, against the real Redis and the sandbox LibreTranslate:
what matches (the same segment after whitespace is collapsed, case kept), in which circle,
and that a purge (a retract) forgets what a message taught."""

from __future__ import annotations

import redis.asyncio

from sandbox.libretranslate import LibreTranslateServer
from translation.memory import Segment, TranslationMemory
from translation.providers import LibreTranslate
from translation.translator import ChainTranslator

TEXT = "Asamblea  el jueves\n a las 7"
FIXED = "Versammlung am Donnerstag um 7"


def chain(libre: LibreTranslateServer, memory: TranslationMemory) -> ChainTranslator:
    circles = {"cdmx": ["net"], "quito": ["south"]}
    return ChainTranslator(
        [LibreTranslate(libre.url)], memory=memory,
        scopes=lambda tag: circles.get(tag.partition("/")[0], []),
    )  # fmt: skip


async def test_the_same_segment_in_the_same_circle_is_answered_with_no_call(
    redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    memory = TranslationMemory(redis_client, "test:tmem:", 3600, record_ttl_s=3600)
    await memory.learn("net", Segment("es", "de", TEXT, FIXED), tag="cdmx/1")
    translator = chain(libre, memory)
    spaced = await translator.translate("Asamblea el jueves a las 7 ", "es", {"de"}, tag="cdmx/2")
    assert spaced["de"].text == FIXED
    assert spaced["de"].provider == "memory"
    assert libre.calls == 0
    # case is kept: another segment; another circle: its own memory; no tag: no memory
    await translator.translate("asamblea el jueves a las 7", "es", {"de"}, tag="cdmx/3")
    await translator.translate(TEXT, "es", {"de"}, tag="quito/4")
    await translator.translate(TEXT, "es", {"de"})
    assert libre.calls == 3
    record = await memory.record_of("quito/4")
    assert record is not None
    assert record.text == TEXT
    assert record.source == "es"
    await translator.close()


async def test_a_purge_forgets_the_segments_and_records_a_message_made(
    redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    memory = TranslationMemory(redis_client, "test:tmem2:", 3600, record_ttl_s=3600)
    await memory.learn("net", Segment("es", "de", TEXT, FIXED), tag="cdmx/1")
    translator = chain(libre, memory)
    await translator.translate("Otra cosa", "es", {"de"}, tag="cdmx/1")
    assert await memory.record_of("cdmx/1") is not None
    await translator.purge("cdmx/1")
    assert await memory.record_of("cdmx/1") is None
    assert await memory.segments("net") == []
    assert not await redis_client.keys("test:tmem2:*")
    await translator.close()
