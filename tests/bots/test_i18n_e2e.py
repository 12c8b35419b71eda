"""The bridge speaks each room's language, from its catalogs: a Telegram group in Spanish on the
sandbox Bot API server and a Matrix room in German on a real Synapse, linked in one circle.

What a member would notice: a copy's footer names the source language in the room's language
("traducido del alemán", "aus dem Spanischen übersetzt"); /help and a refused /share come back
in the room's language with the command words intact; a call-out's heading and the organizers'
report are localized. And what the operator would notice on the translation provider's bill:
nothing of the bridge's own texts reaches it (the sandbox LibreTranslate logs every text)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
import telegram

from bridge.callouts.clock import ManualClock
from bridge.config.load import load_config
from sandbox.libretranslate import LibreTranslateServer
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from sandbox.telegram.server import bot_kwargs
from tests.bots.telegram_world import one_group
from tests.bots.test_matrix import matrix_bot
from tests.harness import eventually, on_clock, running_app
from tests.helpers import sandbox_bot, write_config
from tests.synapse_fixture import PASSWORD, create_room, joined, member, texts, unique

TOKEN = "5000011:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
CDMX = -1001000000011
ANA, BETO = 2011, 2012  # Ana organizes (not a chat admin); Beto is the group's admin

SPANISH = "Bloqueo mañana a las 7 frente al edificio."
GERMAN = "Wir stehen an eurer Seite"


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with one_group(TOKEN, "cdmx_bridge_bot", CDMX, ANA, BETO) as server:
        yield server


@pytest.fixture
async def libre() -> AsyncIterator[LibreTranslateServer]:
    async with LibreTranslateServer() as server:
        yield server


def tg_texts(tg: BotApiServer) -> list[str]:
    return [m["text"] or "" for m in tg.messages(CDMX)]


async def test_a_spanish_telegram_group_and_a_german_matrix_room_read_the_bridge_in_their_language(
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
                sandbox_bot("tg", TOKEN, tg.url),
                matrix_bot(synapse, bot),
            ],
            "rooms": [
                {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX",
                 "timezone": "America/Mexico_City"},
                {"id": "berlin", "bot": "mx", "chat": berlin, "language": "de",
                 "label": "Berlin", "timezone": "Europe/Berlin"},
            ],
            "circles": [{"id": "net", "relay": "all", "rooms": ["cdmx", "berlin"]}],
            "organizers": [f"telegram:{ANA}"],
            "translation": {"providers": [{"name": "libretranslate", "url": libre.url}]},
        }  # fmt: skip
        loaded = load_config(write_config(tmp_path / "i18n.yaml", cfg), env={})
        clock = ManualClock(datetime(2030, 5, 1, 10, tzinfo=UTC))

        def said(events: list[dict[str, Any]], words: str) -> list[str]:
            return [c["body"] for c in texts(events, sender=bot) if words in c["body"]]

        async with running_app(on_clock(loaded, clock)):
            await joined(lena, berlin, bot)
            async with telegram.Bot(TOKEN, **bot_kwargs(tg)) as reader:  # the menu, read back
                menus = {code: await reader.get_my_commands(language_code=code or None)
                         for code in ("", "es", "de", "tr")}  # fmt: skip
            # copies: each footer names the source language in the room's language
            sent = tg.post(CDMX, ANA, SPANISH)
            events = await lena.wait_for(berlin, lambda ev: bool(said(ev, "Blockade")))
            (copy_in_berlin,) = said(events, "Blockade")
            await lena.say(berlin, GERMAN)
            await eventually(lambda: any("Estamos" in t for t in tg_texts(tg)), what="copy")
            (copy_in_cdmx,) = [t for t in tg_texts(tg) if "Estamos" in t]

            # help, in each room's language, command words as they are typed there
            tg.post(CDMX, ANA, "/help")
            await eventually(lambda: any("Comandos de Translocal" in t for t in tg_texts(tg)))
            await lena.say(berlin, "!help")
            events = await lena.wait_for(berlin, lambda ev: bool(said(ev, "Befehle von")))
            (help_in_berlin,) = said(events, "Befehle von")

            # a refused /share: Ana is not a moderator of the group
            tg.post(CDMX, ANA, "/share", reply_to=sent["message_id"])
            await eventually(lambda: any("Solo quienes moderan" in t for t in tg_texts(tg)))
            # and a /share that cannot act: no message replied to
            await lena.say(berlin, "!share")
            events = await lena.wait_for(berlin, lambda ev: bool(said(ev, "Antworte mit")))
            (share_in_berlin,) = said(events, "Antworte mit")

            # a call-out, its heading in each room, and its report to the organizer
            tg.post(CDMX, ANA, f"/callout add 2030-05-01 18:00 instant net | {SPANISH}")
            await eventually(lambda: any("está programada" in t for t in tg_texts(tg)))
            clock.set(datetime(2030, 5, 2, 0, tzinfo=UTC))  # 18:00 in Mexico City
            events = await lena.wait_for(berlin, lambda ev: bool(said(ev, "Aufruf (CDMX)")))
            (callout_in_berlin,) = said(events, "Aufruf (CDMX)")
            await eventually(lambda: any("llegó a" in t for t in tg_texts(tg)), what="report")

    in_cdmx = tg_texts(tg)
    described = {code: {c.command: c.description for c in menu} for code, menu in menus.items()}
    assert described["es"]["share"] == (
        "el hilo hasta ahora pasa ya, en orden, y las respuestas siguientes también"
    )
    assert described["de"]["retract"].startswith("jede Kopie wird gelöscht")
    assert described[""]["help"] == "these commands"  # the default, for any other app language
    assert described["tr"] == {}  # Telegram shows the default list there
    assert set(described["es"]) == set(described[""])  # the command words: the same everywhere
    assert copy_in_berlin.endswith("· aus dem Spanischen übersetzt")
    assert copy_in_cdmx.endswith("· traducido del alemán")
    (help_in_cdmx,) = [t for t in in_cdmx if "Comandos de Translocal" in t]
    assert "/share [círculo] (como respuesta): el hilo hasta ahora pasa ya" in help_in_cdmx
    assert "/retract (como respuesta)" in help_in_cdmx
    assert "!share [Kreis] (als Antwort): der Thread bis jetzt geht sofort rüber" in help_in_berlin
    assert "!unshare (als Antwort)" in help_in_berlin
    (refusal,) = [t for t in in_cdmx if "Solo quienes moderan" in t]
    assert refusal == "Solo quienes moderan esta sala pueden usar /share. No se ha cambiado nada."
    assert share_in_berlin == ("Antworte mit !share auf eine Nachricht, um ihren Thread zu teilen.")
    (scheduled,) = [t for t in in_cdmx if "está programada" in t]
    assert scheduled.startswith("La convocatoria ")
    assert "2 salas, la primera vez el mié, 1 may 2030, 18:00 CST" in scheduled
    assert "Aufruf (CDMX)\nBlockade morgen um 7 Uhr vor dem Gebäude." in callout_in_berlin
    (callout_in_cdmx,) = [t for t in in_cdmx if "Convocatoria (CDMX)\n" in t]
    assert SPANISH in callout_in_cdmx
    (report,) = [t for t in in_cdmx if "llegó a" in t]
    assert report.startswith("Convocatoria ")
    assert "llegó a 2 de 2 salas." in report
    assert "Llegó a: CDMX y Berlin." in report
    # the provider saw the members' sentences and nothing else: no bot text went through it
    assert {text for _, _, text in libre.log} <= {SPANISH, GERMAN}
