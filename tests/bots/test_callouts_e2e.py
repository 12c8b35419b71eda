"""A call-out end to end: scheduled from a Telegram group by an organizer, delivered to
Telegram groups on the sandbox Bot API server (and an in-memory room), each in its room's
language, and the report back to its author. The scheduler's clock is moved by the test."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import redis.asyncio

from bridge.callouts.clock import ManualClock
from bridge.config.load import LoadedConfig
from sandbox.libretranslate import LibreTranslateServer
from sandbox.telegram import BotApiServer
from tests.bots.e2e_world import (
    BERLIN_TZ,
    MEXICO_CITY,
    World,
    bridge,
    bridge_config,
    cdmx_room,
    telegram_bot,
    tg_texts,
)
from tests.bots.telegram_world import ANA, BERLIN, CDMX, JONAS, world_rooms
from tests.harness import eventually
from tests.memory_bot import NETWORK

TIMEZONES = {"cdmx": MEXICO_CITY, "berlin": BERLIN_TZ, "nyc": "America/New_York"}
CIRCLE = {"id": "net"}  # the default policy: a moderator shares; call-outs reach every room


def config(
    tmp_path: Path, redis_url: str, tg: BotApiServer, libre: LibreTranslateServer
) -> LoadedConfig:
    """The Telegram world's three rooms (CDMX, Berlin, NYC in memory), each in its timezone;
    Ana organizes."""
    rooms = [{**r, "timezone": TIMEZONES[r["id"]]} for r in world_rooms()]
    bots = [telegram_bot(tg), telegram_bot(tg, "tg-b", "${TOKEN_B}"),
            {"id": "mem", "platform": "memory"}]  # fmt: skip
    return bridge_config(tmp_path, redis_url, bots=bots, rooms=rooms, circle=CIRCLE,
                         libre=libre, organizers=[f"telegram:{ANA}"])  # fmt: skip


async def test_a_call_out_reaches_telegram_groups_in_their_languages_and_reports_back(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    tg: BotApiServer,
    libre: LibreTranslateServer,
) -> None:
    clock = ManualClock(datetime(2030, 5, 1, 10, tzinfo=UTC))
    async with bridge(config(tmp_path, redis_url, tg, libre), clock=clock):
        command = tg.post(
            CDMX, ANA, "/callout add 2030-05-01 18:00 instant net | Bloqueo mañana a las 7 frente "
            "al edificio.",
        )  # fmt: skip
        await eventually(lambda: any("está programada" in t for t in tg_texts(tg, CDMX)))
        (answer,) = [m for m in tg.messages(CDMX) if "está programada" in (m["text"] or "")]
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
    e2e: World,
) -> None:
    tg, libre = e2e.tg, e2e.libre
    async with e2e.matrix() as mx:
        lena = mx.lena
        loaded = e2e.config(bots=[telegram_bot(tg), mx.bot_entry()], circle=CIRCLE,
            rooms=[cdmx_room(timezone=MEXICO_CITY), mx.room_entry(timezone=BERLIN_TZ)],
            organizers=[f"matrix:{lena.user_id}"], libre=libre,
        )  # fmt: skip
        clock = ManualClock(datetime(2030, 5, 1, 10, tzinfo=UTC))
        async with bridge(loaded, mx, clock):
            command = await lena.say(
                mx.room, "!callout add 2030-05-01 18:00 instant net | Blockade morgen um 7 Uhr "
                "vor dem Gebäude.",
            )  # fmt: skip
            answer = (await mx.wait_said("ist geplant"))[0]
            assert answer["body"].startswith("Aufruf ")  # in the room's language
            # 18:00 in Berlin, in Berlin's words and time
            assert "2 Räume, zum ersten Mal am Mi., 1. Mai 2030, 18:00 CEST" in answer["body"]

            clock.set(datetime(2030, 5, 1, 16, tzinfo=UTC))
            await eventually(lambda: any("Bloqueo" in t for t in tg_texts(tg, CDMX)))
            await mx.wait_said("angekommen")
        (callout,) = mx.said("Blockade morgen")
        assert "Aufruf (Berlin)\nBlockade morgen um 7 Uhr" in callout["body"]
        (report,) = mx.said("angekommen")
        assert "in 2 von 2 Räumen angekommen" in report["body"]
        assert report["m.relates_to"]["m.in_reply_to"]["event_id"] == command
    (in_cdmx,) = [t for t in tg_texts(tg, CDMX) if "Bloqueo" in t]
    assert "Convocatoria (Berlin)\nBloqueo mañana a las 7 frente al edificio." in in_cdmx
