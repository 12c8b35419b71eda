"""Call-outs from chat, through the whole bridge (relay, scheduler, deliverers, in-memory
bots) on a clock the test moves: organizers only, bad input refused in the room's language,
and a call-out that survives a restart, fires late within the grace, or is reported skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.app import App
from bridge.callouts.clock import ManualClock
from bridge.callouts.store import CalloutStore
from bridge.config.load import LoadedConfig
from bridge.model.envelope import Envelope, Sender
from sandbox.libretranslate import LibreTranslateServer
from tests.bridge.test_callouts_schedule import ROOMS
from tests.harness import eventually, memory_config
from tests.memory_bot import NETWORK, TEXT_LIMIT

ORGANIZER = "telegram:2001"
_ids = itertools.count(1000)
# one character more than the in-memory platform's rooms take, and how the bridge says so
TOO_LONG = TEXT_LIMIT.size + 1
TOO_LONG_REASON = (
    f"el texto mide {TOO_LONG} {TEXT_LIMIT.unit}; las salas de memory admiten como mucho "
    f"{TEXT_LIMIT.size}"
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture
async def libre() -> AsyncIterator[LibreTranslateServer]:
    async with LibreTranslateServer() as server:
        yield server


def config(
    tmp_path: Path, redis_url: str, libre: LibreTranslateServer, **extra: Any
) -> LoadedConfig:
    return memory_config(
        tmp_path, redis_url, rooms=ROOMS, organizers=[ORGANIZER],
        translation={"providers": [{"name": "libretranslate", "url": libre.url}]}, **extra,
    )  # fmt: skip


@contextlib.asynccontextmanager
async def bridge(loaded: LoadedConfig, clock: ManualClock) -> AsyncIterator[App]:
    """The whole bridge in this process, its call-out scheduler on ``clock``."""
    app = App(loaded, lease_ms=1000)
    app.callout_clock = clock
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(app.run(stop, ready))
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        await task
    try:
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def say(chat: str, text: str, who: str = ORGANIZER) -> str:
    """A member writes a command in a chat (as a Telegram adapter would parse it)."""
    bot = {"a1": "a", "b1": "b", "c1": "c"}[chat]
    command, _, args = text.lstrip("/").partition(" ")
    message_id = str(next(_ids))
    envelope = Envelope(
        key=f"cmd:{chat}:{message_id}",
        kind="command",
        bot=bot,
        chat=chat,
        message_id=message_id,
        sender=Sender(id=who, name="Org"),
        command=command,
        args=args,
    )
    await NETWORK.bot(bot).ctx.emit(envelope)
    return message_id


async def answer_to(chat: str, message_id: str) -> str:
    """The bridge's answer to a command: a notice replying to it."""
    await eventually(
        lambda: any(d.reply_to == message_id for d in NETWORK.sends_to(chat)), what="an answer"
    )
    return next(d.text for d in NETWORK.sends_to(chat) if d.reply_to == message_id)


async def test_a_non_organizer_is_refused_and_nothing_is_stored(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    clock = ManualClock(utc(2030, 5, 1, 10))
    async with bridge(config(tmp_path, redis_url, libre), clock):
        asked = await say("b1", "/callout add 2030-05-01 18:00 net | Demo", who="telegram:2099")
        text = await answer_to("b1", asked)
    # in Berlin's language, from its catalog; the command word as it is typed there
    assert text == "Nur Organisator*innen können +callout benutzen. Es wurde nichts geändert."
    assert await CalloutStore(redis_client).all() == {}


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ("add 2030-13-01 18:00 net | Demo", "'2030-13-01 18:00' no es una fecha y hora"),
        ("add tomorrow 18:00 net | Demo", "'tomorrow 18:00' no es una fecha y hora"),
        ("add 2030-04-30 18:00 net | Demo", "2030-04-30 18:00 ya pasó en"),
        ("add 2030-05-02 18:00 nowhere | Demo", "'nowhere' no es un círculo de esta red"),
        ('add cron "0 0 30 2 *" net | Demo', "never fires"),  # the cron checker's own words
        ("add 2030-05-02 18:00 net | " + "x" * TOO_LONG, TOO_LONG_REASON),
        ("add 2030-05-02 18:00 net", "escribe el texto después de una |"),
        ("cancel nosuch", "no hay ninguna convocatoria 'nosuch'"),
    ],
)
async def test_bad_input_is_refused_with_one_line_in_the_rooms_language(
    tmp_path: Path,
    redis_url: str,
    redis_client: redis.asyncio.Redis,
    libre: LibreTranslateServer,
    command: str,
    reason: str,
) -> None:
    clock = ManualClock(utc(2030, 5, 1, 10))
    async with bridge(config(tmp_path, redis_url, libre), clock):
        asked = await say("a1", f"/callout {command}")
        text = await answer_to("a1", asked)
    assert text.startswith("No se hizo: ")  # CDMX's language, from its catalog
    assert reason in text
    assert "\n" not in text
    assert await CalloutStore(redis_client).all() == {}


async def test_a_call_out_from_chat_survives_a_restart_and_fires_in_each_rooms_language(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    loaded = config(tmp_path, redis_url, libre)
    clock = ManualClock(utc(2030, 5, 1, 10))
    async with bridge(loaded, clock):
        asked = await say("a1", "/callout add 2030-05-01 18:00 local net | Asamblea general")
        text = await answer_to("a1", asked)
        found = re.search(r"La convocatoria (\w+) está programada", text)
        assert found is not None
        callout_id = found.group(1)
        # the first fire (Berlin's 18:00), in CDMX's time and words
        assert "3 salas, la primera vez el mié, 1 may 2030, 10:00 CST" in text
        listed = await answer_to("a1", await say("a1", "/callout list"))
        assert (
            f"{callout_id}: el mié, 1 may 2030, 18:00 (a la hora local de cada sala) a círculo net"
            in listed
        )
        shown = await answer_to("a1", await say("a1", f"/callout preview {callout_id}"))
    assert "- Berlin (alemán): mié, 1 may 2030, 18:00 CEST" in shown
    assert "Aufruf (CDMX): [de] Asamblea general" in shown  # the heading: Berlin's catalog
    assert "- CDMX (español): mié, 1 may 2030, 18:00 CST" in shown
    assert "Convocatoria (CDMX): Asamblea general" in shown
    NETWORK.log.clear()

    # Everything was down; it comes back at 16:05 UTC, 5 minutes after Berlin's 18:00
    clock.set(utc(2030, 5, 1, 16, 5))
    async with bridge(loaded, clock) as app:
        await eventually(lambda: bool(NETWORK.sends_to("b1")), what="Berlin's call-out, late")
        clock.set(utc(2030, 5, 1, 22))  # 18:00 in New York
        await eventually(lambda: bool(NETWORK.sends_to("c1")), what="New York's call-out")
        assert not NETWORK.sends_to("a1")
        clock.set(utc(2030, 5, 2, 0))  # 18:00 in Mexico City
        await eventually(lambda: len(NETWORK.sends_to("a1")) == 2, what="CDMX's and the report")
        assert app.scheduler is not None
    (berlin,) = NETWORK.sends_to("b1")
    # headings and footers from each room's catalog; only the member's text was translated
    assert berlin.text.endswith(
        "Aufruf (CDMX): [de] Asamblea general · aus dem Spanischen übersetzt"
    )
    (nyc,) = NETWORK.sends_to("c1")
    assert nyc.text.endswith("Call-out (CDMX): [en] Asamblea general · translated from Spanish")
    cdmx, report = NETWORK.sends_to("a1")
    assert cdmx.text.endswith("Convocatoria (CDMX): Asamblea general")
    assert report.reply_to == asked  # to its author, as a reply to the command
    assert report.text.startswith(f"Convocatoria {callout_id}, ")
    assert "llegó a 3 de 3 salas" in report.text
    assert "Llegó a: CDMX, Berlin y NYC." in report.text


async def test_a_fire_missed_beyond_the_grace_is_reported_as_skipped_to_its_author(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    loaded = config(tmp_path, redis_url, libre, callout_grace_minutes=10)
    clock = ManualClock(utc(2030, 5, 1, 10))
    async with bridge(loaded, clock):
        asked = await say("b1", "/callout add 2030-05-01 18:00 instant net | Kundgebung")
        await answer_to("b1", asked)
    NETWORK.log.clear()
    clock.set(utc(2030, 5, 1, 16, 30))  # 18:00 in Berlin was 16:00 UTC: 30 minutes ago
    async with bridge(loaded, clock):
        await eventually(lambda: bool(NETWORK.sends_to("b1")), what="the report")
        await asyncio.sleep(0.3)  # nothing else comes
    (report,) = [d for d in NETWORK.log if d.action == "send"]
    assert report.chat == "b1"
    assert "in 0 von 3 Räumen angekommen" in report.text  # Berlin's words
    # the scheduler's reason stays in its own (English) words
    assert "Übersprungen: NYC: missed by 30 min, beyond the 10 min grace period" in report.text


async def test_cancel_stops_a_call_out(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    clock = ManualClock(utc(2030, 5, 1, 10))
    async with bridge(config(tmp_path, redis_url, libre), clock):
        text = await answer_to("c1", await say("c1", '/callout add cron "0 12 * * *" net | Hi'))
        callout_id = re.search(r"Call-out (\w+) is scheduled", text).group(1)  # type: ignore[union-attr]
        done = await answer_to("c1", await say("c1", f"/callout cancel {callout_id}"))
        assert done == f"Call-out {callout_id} is cancelled."  # English room: as it is
        NETWORK.log.clear()
        clock.advance(timedelta(days=2))
        await asyncio.sleep(0.5)
    assert NETWORK.log == []
    assert await CalloutStore(redis_client).all() == {}
