"""The translator in a running bridge: once per language, in parallel; a dead provider costs
one timeout; the original with a note when nothing translates; the shell's `translate`.

The provider is the sandbox LibreTranslate server, a real HTTP server, called over HTTP.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import redis.asyncio

from sandbox.libretranslate import LibreTranslateServer
from tests.harness import eventually, memory_config, running
from tests.helpers import run_cli, write_config

BLOCKADE = "Bloqueo mañana a las 7 frente al edificio."  # in the sandbox phrase table


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
        "Ana (CDMX): Blockade morgen um 7 Uhr vor dem Gebäude. · aus dem Spanischen übersetzt"
    )
    assert seen["chat-nyc"].startswith("Ana (CDMX): Blockade tomorrow at 7")
    assert seen["chat-bcn"].startswith("Ana (CDMX): Bloqueig demà a les 7")
    assert seen["chat-madrid"] == f"Ana (CDMX): {BLOCKADE}"  # the original, with no note


async def test_a_hanging_libretranslate_delays_one_message_only(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, libre: LibreTranslateServer
) -> None:
    libre.hang()
    async with running(with_libre(tmp_path, redis_url, libre.url)) as (_, net):
        started = time.monotonic()
        await net.bot("a").post("chat-cdmx", "Asamblea de inquilinas el jueves a las 19h.")
        await eventually(lambda: bool(net.seen_in("chat-berlin")), timeout=10)
        first_wait = time.monotonic() - started
        assert net.seen_in("chat-berlin")[0].text.endswith("· nicht übersetzt (aus dem Spanischen)")
        # the breaker is open now: the next message does not wait for the dead provider
        started = time.monotonic()
        await net.bot("a").post("chat-cdmx", "Necesitamos más gente en la puerta.")
        await eventually(lambda: len(net.seen_in("chat-berlin")) == 2, timeout=10)
        second_wait = time.monotonic() - started
    assert first_wait >= 1.0  # the configured timeout was waited out once
    assert second_wait < first_wait
    assert "not translated" in net.seen_in("chat-nyc")[1].text
    libre.reset()


async def test_no_provider_configured_means_the_original_with_a_note(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    loaded = memory_config(tmp_path, redis_url)
    async with running(loaded) as (_, net):
        await net.bot("a").post("a1", "hola a todas", name="Ana")
        await eventually(lambda: bool(net.seen_in("b1")))
    assert (
        net.seen_in("b1")[0].text
        == "Ana (CDMX): hola a todas · nicht übersetzt (aus dem Spanischen)"
    )


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
        "Ana (CDMX): Blockade morgen um 7 Uhr vor dem Gebäude. · aus dem Spanischen übersetzt"
        f"\n> {BLOCKADE}"
    )


async def test_translate_command_checks_the_chain_from_the_shell(
    tmp_path: Path, libre: LibreTranslateServer
) -> None:
    cfg: dict[str, object] = {
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
