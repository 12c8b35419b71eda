"""The translation cache: the same text again costs no provider call, entries expire, and a
retraction purges what its message left in Redis."""

from __future__ import annotations

import redis.asyncio

from sandbox.libretranslate import LibreTranslateServer
from translation.cache import TranslationCache
from translation.providers import LibreTranslate
from translation.translator import ChainTranslator

BLOCKADE = "Bloqueo mañana a las 7 frente al edificio."  # in the sandbox phrase table


async def test_the_same_message_again_costs_no_provider_call(
    redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    cache = TranslationCache(redis_client, "tl:tcache:", ttl_s=3600)
    translator = ChainTranslator([LibreTranslate(libre.url)], cache=cache)
    try:
        first = await translator.translate(BLOCKADE, "es", {"de", "en"}, tag="cdmx/1")
        again = await translator.translate(BLOCKADE, "es", {"de", "en"}, tag="cdmx/2")
    finally:
        await translator.close()
    assert libre.calls == 2
    assert {t: r.text for t, r in again.items()} == {t: r.text for t, r in first.items()}
    assert translator.stats.hits == {"libretranslate": 2}
    for key in await redis_client.keys("tl:tcache:*"):
        assert await redis_client.ttl(key) > 0, key  # the cache expires
    await translator.purge("cdmx/1")  # a retraction purges what the message left
    assert await redis_client.keys("tl:tcache:libretranslate:*") == []
