"""Word filters, the privacy check and quarantine end to end: a Spanish Telegram group on the
sandbox Bot API server, and a German and an English room on a real Synapse, in one moderated
circle. What the people in them see: a filtered word held in Berlin until its moderator
releases it; a share of a message with a phone number that waits for ``/share confirm``; a
quarantine by Berlin and NYC that holds CDMX."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.config.load import load_config
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import one_group
from tests.bots.test_matrix import matrix_bot
from tests.harness import eventually, on_clock, running_app
from tests.helpers import sandbox_bot, write_config
from tests.synapse_fixture import PASSWORD, create_room, joined, member, unique

TOKEN = "5000021:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
CDMX = -1001000000021
ANA, BETO = 2021, 2022  # Ana is a member; Beto is the group's admin


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with one_group(TOKEN, "cdmx_filter_bot", CDMX, ANA, BETO) as server:
        yield server


def tg_texts(tg: BotApiServer) -> list[str]:
    return [m["text"] or "" for m in tg.messages(CDMX)]


def from_bot(events: list[dict[str, Any]], bot: str, words: str) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if e.get("type") == "m.room.message"
        and e.get("sender") == bot
        and words in str((e.get("content") or {}).get("body", ""))
    ]


async def test_a_word_held_then_released_a_phone_number_confirmed_and_a_room_quarantined(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    synapse: SynapseServer,
    tg: BotApiServer,
) -> None:
    bot = await synapse.register(unique("bridge"), PASSWORD, displayname="Translocal")
    async with member(synapse, "lena", display="Lena") as lena, \
            member(synapse, "sam", display="Sam") as sam:  # fmt: skip
        berlin = await create_room(lena, invite=(bot,))
        nyc = await create_room(sam, invite=(bot,))
        cfg: dict[str, Any] = {
            "data_dir": str(tmp_path / "data"),
            "redis": {"url": redis_url, "shards": 4},
            "bots": [
                sandbox_bot("tg", TOKEN, tg.url),
                matrix_bot(synapse, bot),
            ],
            "rooms": [
                {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX"},
                {"id": "berlin", "bot": "mx", "chat": berlin, "language": "de",
                 "label": "Berlin"},
                {"id": "nyc", "bot": "mx", "chat": nyc, "language": "en", "label": "NYC"},
            ],
            "circles": [{"id": "net", "relay": "moderated", "rooms": ["cdmx", "berlin", "nyc"]}],
        }  # fmt: skip
        loaded = load_config(write_config(tmp_path / "filters.yaml", cfg), env={})
        async with running_app(on_clock(loaded)):
            await joined(lena, berlin, bot)
            await joined(sam, nyc, bot)

            # Berlin's moderator filters a word; a shared CDMX message with it is held there
            await lena.say(berlin, "!filter add desalojo")
            await lena.wait_for(berlin, lambda ev: bool(from_bot(ev, bot, "Filter hinzugef")))
            first = tg.post(CDMX, ANA, "Desalojo mañana en Tlalpan")
            tg.post(CDMX, BETO, "/share", reply_to=first["message_id"])
            await sam.wait_for(nyc, lambda ev: bool(from_bot(ev, bot, "Tlalpan")))
            events = await lena.wait_for(berlin, lambda ev: bool(from_bot(ev, bot, "!release")))
            (held,) = from_bot(events, bot, "Wortfilter")
            assert "CDMX" in held["content"]["body"]
            assert not from_bot(events, bot, "Tlalpan")
            await lena.say(berlin, "!release", reply_to=held["event_id"])
            await lena.wait_for(berlin, lambda ev: bool(from_bot(ev, bot, "Tlalpan")))

            # a share of a message with a phone number waits for /share confirm
            second = tg.post(CDMX, ANA, "Llamen a Marta al +52 55 1234 5678")
            tg.post(CDMX, BETO, "/share", reply_to=second["message_id"])
            await eventually(lambda: any("/share confirm" in t for t in tg_texts(tg)), what="ask")
            (asked,) = [t for t in tg_texts(tg) if "/share confirm" in t]
            assert "un número de teléfono" in asked
            assert "1234" not in asked
            tg.post(CDMX, BETO, "/help")  # everything before it has been relayed
            await eventually(lambda: any("Comandos de Translocal" in t for t in tg_texts(tg)))
            await sam.sync()
            assert not from_bot(sam.events.get(nyc, []), bot, "Marta")
            tg.post(CDMX, BETO, "/share confirm")
            await sam.wait_for(nyc, lambda ev: bool(from_bot(ev, bot, "Marta")))

            # Berlin and NYC quarantine CDMX: its thread stops crossing
            await lena.say(berlin, "!quarantine CDMX")
            await lena.wait_for(berlin, lambda ev: bool(from_bot(ev, bot, "Notiert")))
            await sam.say(nyc, "!quarantine CDMX")
            await eventually(lambda: any("está en cuarentena" in t for t in tg_texts(tg)))
            tg.post(CDMX, ANA, "Mensaje de quien tomó el grupo", reply_to=first["message_id"])
            tg.post(CDMX, BETO, "/help")
            await eventually(lambda: sum("Comandos de Translocal" in t for t in tg_texts(tg)) == 2)
            await sam.sync()
            assert not from_bot(sam.events.get(nyc, []), bot, "tomó el grupo")
