"""Translation: once per language, in parallel, cached, protected spans, failures, detection.

The provider is the sandbox LibreTranslate server, a real HTTP server, called over HTTP.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.config.load import load_config
from bridge.model.errors import ConfigError
from sandbox.libretranslate import LibreTranslateServer
from tests.harness import eventually, memory_config, running
from tests.helpers import run_cli, write_config
from translation.cache import TranslationCache
from translation.detect import Detector
from translation.glossary import Glossary
from translation.protect import Mark
from translation.providers import DeepTranslatorProvider, LibreTranslate
from translation.translator import ChainTranslator

BLOCKADE = "Bloqueo mañana a las 7 frente al edificio."


@pytest.fixture
async def libre() -> AsyncIterator[LibreTranslateServer]:
    async with LibreTranslateServer() as server:
        yield server


def five_rooms() -> list[dict[str, Any]]:
    rooms = [("cdmx", "es"), ("madrid", "es"), ("berlin", "de"), ("hamburg", "de"),
             ("nyc", "en"), ("bcn", "ca")]  # fmt: skip
    return [
        {"id": rid, "bot": "a", "chat": f"chat-{rid}", "language": lang, "label": rid.upper()}
        for rid, lang in rooms
    ]


def with_libre(tmp_path: Path, redis_url: str, url: str, **extra: Any) -> Any:
    return memory_config(
        tmp_path,
        redis_url,
        rooms=five_rooms(),
        circles=[{"id": "net", "rooms": [r["id"] for r in five_rooms()], "relay": "all"}],
        translation={"providers": [{"name": "libretranslate", "url": url}], "timeout_s": 1.0},
        **extra,
    )


async def test_one_message_is_translated_once_per_language_concurrently(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, libre: LibreTranslateServer
) -> None:
    libre.slow(0.3)  # long enough that calls one after another could not overlap
    async with running(with_libre(tmp_path, redis_url, libre.url)) as (_, net):
        await net.bot("a").post("chat-cdmx", BLOCKADE, name="Ana")
        others = ["chat-madrid", "chat-berlin", "chat-hamburg", "chat-nyc", "chat-bcn"]
        await eventually(lambda: all(net.seen_in(c) for c in others))
        seen = {c: net.seen_in(c)[0].text for c in others}
    assert libre.calls == 3
    assert set(libre.pairs) == {("es", "de"), ("es", "en"), ("es", "ca")}
    assert libre.max_in_flight == 3  # the three languages ran at once
    assert seen["chat-berlin"] == seen["chat-hamburg"]
    assert seen["chat-berlin"] == (
        "Ana (CDMX): Blockade morgen um 7 Uhr vor dem Gebäude. · translated from es"
    )
    assert seen["chat-nyc"].startswith("Ana (CDMX): Blockade tomorrow at 7")
    assert seen["chat-bcn"].startswith("Ana (CDMX): Bloqueig demà a les 7")
    assert seen["chat-madrid"] == f"Ana (CDMX): {BLOCKADE}"  # the original, with no note


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


async def test_protected_spans_and_glossary_terms_come_back_unchanged_and_in_place(
    libre: LibreTranslateServer,
) -> None:
    libre.mangle()  # lowercases, and breaks URLs, @mentions and #hashtags it is given
    glossary = Glossary(
        keep=("Deutsche Wohnen",), terms={"gentrification": {"es": "gentrificación"}}
    )
    translator = ChainTranslator([LibreTranslate(libre.url)], glossary=glossary)
    text = (
        "Deutsche Wohnen pushes gentrification: see https://example.org/x?a=1 "
        "and ask @ana_b about #MietenWahnsinn ✊🏽, or run `rent --check` now"
    )
    code_at = text.index("`rent --check`")
    link_at = text.index("https://")
    marks = [
        Mark(code_at, code_at + len("`rent --check`"), "code"),
        Mark(
            link_at, link_at + len("https://example.org/x?a=1"), "link", "https://example.org/x?a=1"
        ),
        Mark(0, 15, "bold"),  # formatting on plain words does not survive translation
    ]
    try:
        result = (await translator.translate(text, "en", {"es"}, marks))["es"]
    finally:
        await translator.close()
    assert result.status == "translated"
    out = result.text
    assert out.startswith("[es] ")  # the provider did translate (the sandbox marks it)
    for kept in ("Deutsche Wohnen", "https://example.org/x?a=1", "@ana_b", "#MietenWahnsinn",
                 "✊🏽", "`rent --check`", "gentrificación"):  # fmt: skip
        assert kept in out, kept
    assert "gentrification" not in out
    # in place: the order of the protected pieces is the order of the original
    order = ["Deutsche Wohnen", "gentrificación", "https://", "@ana_b", "#Mieten", "`rent"]
    assert [out.index(p) for p in order] == sorted(out.index(p) for p in order)
    kinds = {m.kind: out[m.start : m.end] for m in result.marks}
    assert kinds == {"code": "`rent --check`", "link": "https://example.org/x?a=1"}


async def test_a_hanging_libretranslate_delays_one_message_only(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, libre: LibreTranslateServer
) -> None:
    libre.hang()
    async with running(with_libre(tmp_path, redis_url, libre.url)) as (_, net):
        started = time.monotonic()
        await net.bot("a").post("chat-cdmx", "Asamblea de inquilinas el jueves a las 19h.")
        await eventually(lambda: bool(net.seen_in("chat-berlin")), timeout=10)
        first_wait = time.monotonic() - started
        assert net.seen_in("chat-berlin")[0].text.endswith("· not translated (from es)")
        # the breaker is open now: the next message does not wait for the dead provider
        started = time.monotonic()
        await net.bot("a").post("chat-cdmx", "Necesitamos más gente en la puerta.")
        await eventually(lambda: len(net.seen_in("chat-berlin")) == 2, timeout=10)
        second_wait = time.monotonic() - started
    assert first_wait >= 1.0  # the configured timeout was waited out once
    assert second_wait < first_wait
    assert "not translated" in net.seen_in("chat-nyc")[1].text
    libre.reset()


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


async def test_detection_overrides_the_room_language_only_when_sure(
    libre: LibreTranslateServer,
) -> None:
    translator = ChainTranslator([LibreTranslate(libre.url)], detector=Detector({"es", "de", "en"}))
    try:
        english = await translator.translate("We need more people at the door.", "es", {"de", "en"})
        short = await translator.translate("hello amigos", "es", {"en"})
    finally:
        await translator.close()
    assert english["en"].status == "original"  # already English: not translated
    assert english["de"].source == "en"
    assert english["de"].text == "Wir brauchen mehr Leute an der Tür."
    assert short["en"].source == "es"  # too short to overrule the room


async def test_no_provider_configured_means_the_original_with_a_note(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    loaded = memory_config(tmp_path, redis_url)
    async with running(loaded) as (_, net):
        await net.bot("a").post("a1", "hola a todas", name="Ana")
        await eventually(lambda: bool(net.seen_in("b1")))
    assert net.seen_in("b1")[0].text == "Ana (CDMX): hola a todas · not translated (from es)"


async def test_show_original_puts_the_original_below(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, libre: LibreTranslateServer
) -> None:
    loaded = memory_config(
        tmp_path,
        redis_url,
        circles=[
            {"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": "all", "show_original": True}
        ],
        translation={"providers": [{"name": "libretranslate", "url": libre.url}]},
    )
    async with running(loaded) as (_, net):
        await net.bot("a").post("a1", BLOCKADE, name="Ana")
        await eventually(lambda: bool(net.seen_in("b1")))
    assert net.seen_in("b1")[0].text == (
        f"Ana (CDMX): Blockade morgen um 7 Uhr vor dem Gebäude. · translated from es\n> {BLOCKADE}"
    )


def test_a_broken_glossary_is_a_config_error_naming_the_line(tmp_path: Path) -> None:
    glossary = tmp_path / "glossary.yaml"
    glossary.write_text("keep: [Blackstone]\nterms:\n  eviction:\n    xx: desahucio\n")
    cfg = {
        "bots": [{"id": "a", "platform": "memory"}],
        "rooms": [{"id": "r", "bot": "a", "chat": "c", "language": "es", "label": "R"}],
        "translation": {"glossary": str(glossary)},
    }
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path / "c.yaml", cfg), env={})
    (problem,) = info.value.problems
    assert str(problem).startswith(f"translation.glossary: {glossary} line 3: ")
    assert "'xx' is not an ISO 639-1 code" in str(problem)


async def test_translate_command_checks_the_chain_from_the_shell(
    tmp_path: Path, libre: LibreTranslateServer
) -> None:
    cfg = {
        "bots": [{"id": "a", "platform": "memory"}],
        "rooms": [{"id": "r", "bot": "a", "chat": "c", "language": "es", "label": "R"}],
        "translation": {"providers": [{"name": "libretranslate", "url": libre.url}]},
    }
    path = write_config(tmp_path / "c.yaml", cfg)
    result = await asyncio.to_thread(
        run_cli, "translate", "-c", str(path), "--to", "de", BLOCKADE, module="tests.relay_proc"
    )
    assert result.returncode == 0, result.stderr
    assert "by libretranslate: Blockade morgen um 7 Uhr vor dem Gebäude." in result.stdout
    bad = await asyncio.to_thread(
        run_cli, "translate", "-c", str(path), "--to", "xx", "hola", module="tests.relay_proc"
    )
    assert bad.returncode == 2
    assert "'xx' is not an ISO 639-1 language code" in bad.stderr


def test_the_example_glossary_loads() -> None:
    from translation.glossary import load_glossary

    glossary = load_glossary(
        Path(__file__).resolve().parents[2] / "config" / "glossary.example.yaml"
    )
    assert "Blackstone" in glossary.keep
    assert glossary.terms["eviction"]["de"] == "Zwangsräumung"
