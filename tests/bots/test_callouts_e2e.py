"""A call-out end to end: scheduled from a Telegram group by an organizer, delivered to
Telegram groups on the sandbox Bot API server (and an in-memory room), each in its room's
language, and the report back to its author. The scheduler's clock is moved by the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.callouts.clock import ManualClock
from bridge.config.load import LoadedConfig, load_config
from sandbox.libretranslate import LibreTranslateServer
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.test_matrix import matrix_bot
from tests.harness import eventually, on_clock, running_app
from tests.helpers import sandbox_bot, write_config
from tests.memory_bot import NETWORK
from tests.synapse_fixture import PASSWORD, create_room, joined, member, texts, unique

TOKEN_A = "5000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
TOKEN_B = "5000002:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
CDMX, BERLIN = -1001000000001, -1001000000002
ANA, JONAS = 2001, 2002


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    server = BotApiServer(limits=False)
    async with server:
        server.add_bot(TOKEN_A, "cdmx_bridge_bot")
        server.add_bot(TOKEN_B, "berlin_bridge_bot")
        server.add_user(ANA, "Ana")
        server.add_user(JONAS, "Jonas")
        server.create_chat(CDMX, "Inquilinas CDMX")
        server.create_chat(BERLIN, "Mieter Berlin")
        for chat, bot, member in ((CDMX, 5000001, ANA), (BERLIN, 5000002, JONAS)):
            server.add_member(chat, bot, admin=True)
            server.add_member(chat, member)
        yield server


@pytest.fixture
async def libre() -> AsyncIterator[LibreTranslateServer]:
    async with LibreTranslateServer() as server:
        yield server


def config(
    tmp_path: Path, redis_url: str, tg: BotApiServer, libre: LibreTranslateServer
) -> LoadedConfig:
    cfg: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url, "shards": 4},
        "bots": [
            sandbox_bot("tg-a", "${TOKEN_A}", tg.url),
            sandbox_bot("tg-b", "${TOKEN_B}", tg.url),
            {"id": "mem", "platform": "memory"},
        ],
        "rooms": [
            {"id": "cdmx", "bot": "tg-a", "chat": CDMX, "language": "es", "label": "CDMX",
             "timezone": "America/Mexico_City"},
            {"id": "berlin", "bot": "tg-b", "chat": BERLIN, "language": "de", "label": "Berlin",
             "timezone": "Europe/Berlin"},
            {"id": "nyc", "bot": "mem", "chat": "nyc", "language": "en", "label": "NYC",
             "timezone": "America/New_York"},
        ],
        "circles": [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"]}],
        "organizers": [f"telegram:{ANA}"],
        "translation": {"providers": [{"name": "libretranslate", "url": libre.url}]},
    }  # fmt: skip
    path = write_config(tmp_path / "tg.yaml", cfg)
    return load_config(path, env={"TOKEN_A": TOKEN_A, "TOKEN_B": TOKEN_B})


def tg_texts(tg: BotApiServer, chat: int) -> list[str]:
    return [m["text"] or "" for m in tg.messages(chat)]


async def test_a_call_out_reaches_telegram_groups_in_their_languages_and_reports_back(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    tg: BotApiServer,
    libre: LibreTranslateServer,
) -> None:
    clock = ManualClock(datetime(2030, 5, 1, 10, tzinfo=UTC))
    async with running_app(on_clock(config(tmp_path, redis_url, tg, libre), clock)):
        command = tg.post(
            CDMX, ANA, "/callout add 2030-05-01 18:00 instant net | Bloqueo mañana a las 7 frente "
            "al edificio.",
        )  # fmt: skip
        await eventually(lambda: any("está programada" in t for t in tg_texts(tg, CDMX)))
        answer = tg.messages(CDMX)[-1]
        assert answer["reply_to"] == command["message_id"]
        assert answer["text"].startswith("La convocatoria ")  # in CDMX's language and time
        assert "3 salas, la primera vez el mié, 1 may 2030, 18:00 CST" in answer["text"]

        # Jonas in Berlin is no organizer
        tg.post(BERLIN, JONAS, "/callout add 2030-05-01 19:00 net | Hallo")
        await eventually(lambda: any("Organisator" in t for t in tg_texts(tg, BERLIN)))
        assert tg_texts(tg, BERLIN)[-1].startswith("Nur Organisator*innen können /callout")

        before = {CDMX: len(tg.messages(CDMX)), BERLIN: len(tg.messages(BERLIN))}
        clock.set(datetime(2030, 5, 2, 0, tzinfo=UTC))  # 18:00 in Mexico City
        await eventually(lambda: len(tg.messages(BERLIN)) > before[BERLIN], what="Berlin's")
        await eventually(lambda: bool(NETWORK.sends_to("nyc")), what="NYC's")
        await eventually(lambda: any("llegó a" in t for t in tg_texts(tg, CDMX)), what="report")

    berlin = tg.messages(BERLIN)[-1]["text"]
    # the sandbox translator knows this sentence in German
    assert "Aufruf (CDMX)\nBlockade morgen um 7 Uhr vor dem Gebäude." in berlin
    (nyc,) = NETWORK.sends_to("nyc")
    assert "Blockade tomorrow at 7 in front of the building." in nyc.text
    new_in_cdmx = tg.messages(CDMX)[before[CDMX] :]
    callout, report = new_in_cdmx
    assert "Convocatoria (CDMX)\nBloqueo mañana a las 7" in callout["text"]
    assert report["reply_to"] == command["message_id"]  # to its author, under the command
    assert "llegó a 3 de 3 salas" in report["text"]
    assert "CDMX, Berlin y NYC" in report["text"]


async def test_a_call_out_scheduled_in_matrix_reaches_synapse_and_telegram_and_reports_back(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    synapse: SynapseServer,
    tg: BotApiServer,
    libre: LibreTranslateServer,
) -> None:
    bot = await synapse.register(unique("bridge"), PASSWORD, displayname="Translocal")
    async with member(synapse, "lena", display="Lena") as lena:
        berlin = await create_room(lena, invite=(bot,))
        cfg: dict[str, Any] = {
            "data_dir": str(tmp_path / "data"),
            "redis": {"url": redis_url, "shards": 4},
            "bots": [
                sandbox_bot("tg-a", TOKEN_A, tg.url),
                matrix_bot(synapse, bot),
            ],
            "rooms": [
                {"id": "cdmx", "bot": "tg-a", "chat": CDMX, "language": "es", "label": "CDMX",
                 "timezone": "America/Mexico_City"},
                {"id": "berlin", "bot": "mx", "chat": berlin, "language": "de",
                 "label": "Berlin", "timezone": "Europe/Berlin"},
            ],
            "circles": [{"id": "net", "rooms": ["cdmx", "berlin"]}],
            "organizers": [f"matrix:{lena.user_id}"],
            "translation": {"providers": [{"name": "libretranslate", "url": libre.url}]},
        }  # fmt: skip
        loaded = load_config(write_config(tmp_path / "mx.yaml", cfg), env={})
        clock = ManualClock(datetime(2030, 5, 1, 10, tzinfo=UTC))
        async with running_app(on_clock(loaded, clock)):
            await joined(lena, berlin, bot)
            command = await lena.say(
                berlin, "!callout add 2030-05-01 18:00 instant net | Blockade morgen um 7 Uhr "
                "vor dem Gebäude.",
            )  # fmt: skip

            def said(events: list[dict[str, Any]], words: str) -> list[dict[str, Any]]:
                return [c for c in texts(events, sender=bot) if words in c["body"]]

            events = await lena.wait_for(berlin, lambda ev: bool(said(ev, "ist geplant")))
            answer = said(events, "ist geplant")[0]
            assert answer["body"].startswith("Aufruf ")  # in the room's language
            # 18:00 in Berlin, in Berlin's words and time
            assert "2 Räume, zum ersten Mal am Mi., 1. Mai 2030, 18:00 CEST" in answer["body"]

            clock.set(datetime(2030, 5, 1, 16, tzinfo=UTC))
            await eventually(lambda: any("Bloqueo" in t for t in tg_texts(tg, CDMX)))
            events = await lena.wait_for(berlin, lambda ev: bool(said(ev, "angekommen")))
        (callout,) = said(events, "Blockade morgen")
        assert "Aufruf (Berlin)\nBlockade morgen um 7 Uhr" in callout["body"]
        (report,) = said(events, "angekommen")
        assert "in 2 von 2 Räumen angekommen" in report["body"]
        assert report["m.relates_to"]["m.in_reply_to"]["event_id"] == command
    (in_cdmx,) = [t for t in tg_texts(tg, CDMX) if "Bloqueo" in t]
    assert "Convocatoria (Berlin)\nBloqueo mañana a las 7 frente al edificio." in in_cdmx
