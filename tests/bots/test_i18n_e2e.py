"""The bridge speaks each room's language, from its catalogs: a Telegram group in Spanish on the
sandbox Bot API server and a Matrix room in German on a real Synapse, linked in one circle.

What a member would notice: a copy's footer names the source language in the room's language
("traducido del alemán", "aus dem Spanischen übersetzt"); /help and a refused /share come back
in the room's language with the command words intact; a call-out's heading and the organizers'
report are localized. And what the operator would notice on the translation provider's bill:
nothing of the bridge's own texts reaches it (the sandbox LibreTranslate logs every text)."""

from __future__ import annotations

from datetime import UTC, datetime

import telegram

from bridge.callouts.clock import ManualClock
from sandbox.telegram.server import bot_kwargs
from tests.bots.e2e_world import (
    BERLIN_TZ,
    MEXICO_CITY,
    World,
    bridge,
    cdmx_room,
    telegram_bot,
    tg_texts,
)
from tests.bots.telegram_world import ANA, CDMX, TOKEN_A
from tests.harness import eventually

SPANISH = "Bloqueo mañana a las 7 frente al edificio."
GERMAN = "Wir stehen an eurer Seite"


async def test_a_spanish_telegram_group_and_a_german_matrix_room_read_the_bridge_in_their_language(
    e2e: World,
) -> None:
    tg, libre = e2e.tg, e2e.libre
    async with e2e.matrix() as mx:
        lena, berlin = mx.lena, mx.room
        loaded = e2e.config(bots=[telegram_bot(tg), mx.bot_entry()],
            rooms=[cdmx_room(timezone=MEXICO_CITY), mx.room_entry(timezone=BERLIN_TZ)],
            organizers=[f"telegram:{ANA}"], libre=libre,
        )  # fmt: skip
        clock = ManualClock(datetime(2030, 5, 1, 10, tzinfo=UTC))

        async def wait_said(words: str) -> list[str]:
            return [c["body"] for c in await mx.wait_said(words)]

        async with bridge(loaded, mx, clock):
            async with telegram.Bot(TOKEN_A, **bot_kwargs(tg)) as reader:  # the menu, read back
                menus = {code: await reader.get_my_commands(language_code=code or None)
                         for code in ("", "es", "de", "tr")}  # fmt: skip
            # copies: each footer names the source language in the room's language
            sent = tg.post(CDMX, ANA, SPANISH)
            (copy_in_berlin,) = await wait_said("Blockade")
            await lena.say(berlin, GERMAN)
            await eventually(lambda: any("Estamos" in t for t in tg_texts(tg, CDMX)), what="copy")
            (copy_in_cdmx,) = [t for t in tg_texts(tg, CDMX) if "Estamos" in t]

            # help, in each room's language, command words as they are typed there
            tg.post(CDMX, ANA, "/help")
            await eventually(lambda: any("Comandos de Translocal" in t for t in tg_texts(tg, CDMX)))
            await lena.say(berlin, "!help")
            (help_in_berlin,) = await wait_said("Befehle von")

            # a refused /share: Ana is not a moderator of the group
            tg.post(CDMX, ANA, "/share", reply_to=sent["message_id"])
            await eventually(lambda: any("Solo quienes moderan" in t for t in tg_texts(tg, CDMX)))
            # and a /share that cannot act: no message replied to
            await lena.say(berlin, "!share")
            (share_in_berlin,) = await wait_said("Antworte mit")

            # a call-out, its heading in each room, and its report to the organizer
            tg.post(CDMX, ANA, f"/callout add 2030-05-01 18:00 instant net | {SPANISH}")
            await eventually(lambda: any("está programada" in t for t in tg_texts(tg, CDMX)))
            clock.set(datetime(2030, 5, 2, 0, tzinfo=UTC))  # 18:00 in Mexico City
            (callout_in_berlin,) = await wait_said("Aufruf (CDMX)")
            await eventually(lambda: any("llegó a" in t for t in tg_texts(tg, CDMX)), what="report")

    in_cdmx = tg_texts(tg, CDMX)
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
