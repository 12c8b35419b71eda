"""Providers: a blocking third party runs in a bulkhead of its own, so a hung one stalls
nothing else; a third party that offers no language of the pair steps aside without a call."""

from __future__ import annotations

import asyncio
import threading
import time

from sandbox.libretranslate import LibreTranslateServer
from translation.providers import DeepTranslatorProvider, LibreTranslate, make_provider
from translation.translator import ChainTranslator

BLOCKADE = "Bloqueo mañana a las 7 frente al edificio."  # in the sandbox phrase table


async def test_a_hanging_third_party_stalls_only_its_own_bulkhead(
    libre: LibreTranslateServer,
) -> None:
    release = threading.Event()

    class Hung:  # a deep-translator engine that never answers (until released)
        def translate(self, text: str) -> str:
            release.wait(10)
            return text

    hung = DeepTranslatorProvider("google", lambda s, t: Hung(), lambda c: c, timeout_s=0.3)
    translator = ChainTranslator([hung, LibreTranslate(libre.url)])
    try:
        started = time.monotonic()
        results = await asyncio.gather(
            *(translator.translate(BLOCKADE, "es", {"de"}) for _ in range(3))
        )
        elapsed = time.monotonic() - started
        # the event loop stayed free: the fallback answered for every message
        assert all(r["de"].provider == "libretranslate" for r in results)
        assert elapsed < 2.0
        assert translator.breakers["google"].state == "open"
    finally:
        release.set()
        await translator.close()


async def test_a_third_party_without_the_language_steps_aside_and_is_not_blamed(
    libre: LibreTranslateServer,
) -> None:
    # DeepL offers no Catalan: the Catalan room gets the next provider's translation, and no
    # request left for DeepL (the tests' network guard would have turned one into a failure)
    deepl = make_provider("deepl", api_key="sandbox-key", timeout_s=1.0)
    translator = ChainTranslator([deepl, LibreTranslate(libre.url)])
    try:
        result = (await translator.translate(BLOCKADE, "es", {"ca"}))["ca"]
    finally:
        await translator.close()
    assert result.text == "Bloqueig demà a les 7 davant de l'edifici."
    assert result.provider == "libretranslate"
    assert translator.stats.failures == {}
    assert translator.breakers["deepl"].state == "closed"
