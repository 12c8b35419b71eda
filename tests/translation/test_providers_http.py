"""Providers with keys on their documented APIs, against stand-ins that speak each wire
format (sandbox/translators): the key only in a header, DeepL's free or Pro host chosen by the
key, formality passed, several texts in one call, quota and auth errors setting the provider
aside until the next hour with one notice, and answers that are not translations delivered as
the original with the provider's failure counted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox.translators import DeepLStandIn, GoogleStandIn, Lie, MicrosoftStandIn, StandIn
from translation.detect import Detector
from translation.providers import DeepL, GoogleCloud, HttpProvider, Microsoft
from translation.suspend import Suspensions
from translation.translator import ChainTranslator

BLOCKADE = "Bloqueo mañana a las 7 frente al edificio."  # in the sandbox phrase table
BLOCKADE_DE = "Blockade morgen um 7 Uhr vor dem Gebäude."
PRO_KEY, FREE_KEY = "pro-secret-0123", "free-secret-4567:fx"


async def no_wait(seconds: float) -> None:
    return None


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def deepl_pro() -> AsyncIterator[DeepLStandIn]:
    async with DeepLStandIn(PRO_KEY) as server:
        yield server


@pytest.fixture
async def deepl_free() -> AsyncIterator[DeepLStandIn]:
    async with DeepLStandIn(FREE_KEY) as server:
        yield server


@pytest.fixture
async def google() -> AsyncIterator[GoogleStandIn]:
    async with GoogleStandIn("g-secret-89") as server:
        yield server


@pytest.fixture
async def microsoft() -> AsyncIterator[MicrosoftStandIn]:
    async with MicrosoftStandIn("ms-secret-77", region="westeurope") as server:
        yield server


def deepl_client(server: DeepLStandIn, key: str) -> DeepL:
    return DeepL(key, free_url=server.free_url, pro_url=server.pro_url, sleep=no_wait)


def clients(
    deepl: DeepLStandIn, google: GoogleStandIn, microsoft: MicrosoftStandIn
) -> list[tuple[StandIn, HttpProvider, str]]:
    return [
        (deepl, deepl_client(deepl, PRO_KEY), PRO_KEY),
        (google, GoogleCloud("g-secret-89", url=google.url, sleep=no_wait), "g-secret-89"),
        (microsoft, Microsoft("ms-secret-77", region="westeurope", url=microsoft.url,
                              sleep=no_wait), "ms-secret-77"),
    ]  # fmt: skip


async def test_each_key_travels_only_in_a_header(
    deepl_pro: DeepLStandIn, google: GoogleStandIn, microsoft: MicrosoftStandIn
) -> None:
    for server, client, key in clients(deepl_pro, google, microsoft):
        try:
            assert await client.translate(BLOCKADE, "es", "de") == BLOCKADE_DE
        finally:
            await client.close()
        assert [(s.key_in_header, s.key_elsewhere) for s in server.seen] == [(True, False)]
        assert all(key not in s.query and key not in s.path for s in server.seen)


async def test_several_texts_go_in_one_call_and_come_back_in_order(
    deepl_pro: DeepLStandIn, google: GoogleStandIn, microsoft: MicrosoftStandIn
) -> None:
    texts = [BLOCKADE, "¡No al desahucio!", "Estamos a vuestro lado"]
    for server, client, _ in clients(deepl_pro, google, microsoft):
        try:
            got = await client.translate_many(texts, "es", "de")
            again = await client.translate(BLOCKADE, "es", "de")
        finally:
            await client.close()
        assert got == [BLOCKADE_DE, "Nein zur Zwangsräumung!", "Wir stehen an eurer Seite"]
        assert again == BLOCKADE_DE
        assert server.calls == 2
        assert len(server.connections) == 1  # one client, its connection reused


async def test_deepl_sends_a_free_key_to_the_free_host_and_a_pro_key_to_pro(
    deepl_pro: DeepLStandIn, deepl_free: DeepLStandIn
) -> None:
    for server, key, path in (
        (deepl_pro, PRO_KEY, "/pro/v2/translate"),
        (deepl_free, FREE_KEY, "/free/v2/translate"),
    ):
        client = deepl_client(server, key)
        try:
            assert await client.translate(BLOCKADE, "es", "de") == BLOCKADE_DE
        finally:
            await client.close()
        assert dict(server.paths) == {path: 1}


async def test_deepl_maps_english_and_portuguese_to_variants_and_passes_formality(
    deepl_pro: DeepLStandIn,
) -> None:
    client = DeepL(PRO_KEY, formality="more", free_url=deepl_pro.free_url,
                   pro_url=deepl_pro.pro_url)  # fmt: skip
    try:
        assert await client.translate(BLOCKADE, "es", "en") == (
            "Blockade tomorrow at 7 in front of the building."
        )
        await client.translate(BLOCKADE, "es", "pt")
        await client.translate(BLOCKADE, "es", "de")
    finally:
        await client.close()
    # English has no formality at DeepL (it would answer 400): none is sent for it
    assert deepl_pro.formality == [None, "more", "more"]
    assert [t for _, t, _ in deepl_pro.texts] == ["en", "pt", "de"]


async def test_deepl_formality_defaults_to_informal(deepl_pro: DeepLStandIn) -> None:
    client = deepl_client(deepl_pro, PRO_KEY)
    try:
        await client.translate(BLOCKADE, "es", "de")
    finally:
        await client.close()
    assert deepl_pro.formality == ["less"]


@pytest.mark.parametrize(
    ("status", "reason"), [(456, "quota"), (403, "auth"), (429, "quota")]
)  # fmt: skip
async def test_a_quota_or_auth_error_is_told_once_and_the_provider_skipped_until_the_hour(
    deepl_pro: DeepLStandIn, status: int, reason: str
) -> None:
    told: list[tuple[str, str]] = []

    async def tell(provider: str, why: str) -> None:
        told.append((provider, why))

    clock = Clock(1_800_000_000.0 + 600)  # ten minutes past an hour
    deepl_pro.fail(status, None)
    chain = ChainTranslator(
        [deepl_client(deepl_pro, PRO_KEY)],
        suspensions=Suspensions(on_blocked=tell, clock=clock),
    )
    try:
        first = (await chain.translate(BLOCKADE, "es", {"de"}))["de"]
        calls = deepl_pro.calls
        for _ in range(5):
            later = (await chain.translate(BLOCKADE, "es", {"de"}))["de"]
            assert later.status == "failed"
        assert deepl_pro.calls == calls  # skipped: no call until the next hour
        clock.now += 50 * 60  # the top of the next hour
        deepl_pro.reset()
        again = (await chain.translate(BLOCKADE, "es", {"de"}))["de"]
    finally:
        await chain.close()
    assert first.status == "failed"
    assert first.text == BLOCKADE
    assert calls == (3 if status == 429 else 1)  # a 429 is retried twice first
    assert told == [("deepl", reason)]
    assert chain.stats.failures == {"deepl": 1}
    assert again.status == "translated"
    assert again.text == BLOCKADE_DE


async def test_a_google_quota_403_and_a_microsoft_403001_set_them_aside(
    google: GoogleStandIn, microsoft: MicrosoftStandIn
) -> None:
    told: list[tuple[str, str]] = []

    async def tell(provider: str, why: str) -> None:
        told.append((provider, why))

    google.fail(403, None)
    microsoft.fail(403001, None)
    chain = ChainTranslator(
        [GoogleCloud("g-secret-89", url=google.url),
         Microsoft("ms-secret-77", region="westeurope", url=microsoft.url)],
        suspensions=Suspensions(on_blocked=tell, clock=Clock(1_800_000_000.0)),
    )  # fmt: skip
    try:
        for _ in range(3):
            assert (await chain.translate(BLOCKADE, "es", {"de"}))["de"].status == "failed"
    finally:
        await chain.close()
    assert told == [("google", "quota"), ("microsoft", "quota")]
    assert (google.calls, microsoft.calls, microsoft.token_requests) == (1, 1, 0)


async def test_a_wrong_key_or_region_is_auth(microsoft: MicrosoftStandIn) -> None:
    told: list[tuple[str, str]] = []

    async def tell(provider: str, why: str) -> None:
        told.append((provider, why))

    chain = ChainTranslator(
        [Microsoft("ms-secret-77", region="eastus", url=microsoft.url)],
        suspensions=Suspensions(on_blocked=tell),
    )
    try:
        result = (await chain.translate(BLOCKADE, "es", {"de"}))["de"]
    finally:
        await chain.close()
    assert result.status == "failed"
    assert told == [("microsoft", "auth")]


@pytest.mark.parametrize("lie", ["html", "empty", "segments", "language"])
async def test_an_answer_that_is_not_a_translation_gives_the_original_and_counts_a_failure(
    deepl_pro: DeepLStandIn, google: GoogleStandIn, microsoft: MicrosoftStandIn, lie: Lie
) -> None:
    for server, client, _ in clients(deepl_pro, google, microsoft):
        server.lie(lie)
        chain = ChainTranslator([client], detector=Detector({"es", "de"}))
        try:
            result = (await chain.translate(BLOCKADE, "es", {"de"}))["de"]
        finally:
            await chain.close()
        assert (result.status, result.text) == ("failed", BLOCKADE), server.name
        assert chain.stats.failures == {client.name: 1}
        assert server.calls == 1  # a lie is not a quota: the provider stays in the chain
