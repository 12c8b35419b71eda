"""The privacy check before sharing, through the real relay and Redis with in-memory bots: a
thread with a phone number (or an address, an e-mail, an ID) waits for ``share confirm`` from
the moderator who shared; the notice names the kind found, never the text."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.app import App
from bridge.callouts.clock import ManualClock
from bridge.config.load import LoadedConfig
from bridge.model import keys
from bridge.moderation.audit import Audit
from bridge.moderation.privacy import findings
from tests.bridge.test_moderation import answers, copies, settled
from tests.harness import eventually, memory_config, running, running_app
from tests.memory_bot import NETWORK


async def test_a_share_with_a_phone_number_waits_for_share_confirm_from_that_moderator(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url, relay="moderated")) as (_, net):
        cdmx = net.bot("a")
        root = await cdmx.post("a1", "Llamen a Marta al +52 55 1234 5678 para el desalojo")
        await cdmx.command("a1", "share", reply_to=root, who="mod", admin=True)
        await eventually(lambda: any("+share confirm" in a for a in answers("a1")), what="asked")
        asked = next(a for a in answers("a1") if "+share confirm" in a)
        assert "1234" not in asked  # the kind is named, not the text
        ttl = await redis_client.ttl(keys.pending_share("cdmx", "memory:mod"))
        assert 0 < ttl <= 600  # lapses after 10 minutes
        await settled(net)
        assert not net.seen_in("b1")

        # another moderator cannot confirm it; a member cannot either
        await cdmx.command("a1", "share", "confirm", who="mod2", admin=True)
        await cdmx.command("a1", "share", "confirm", who="leo")
        await settled(net)
        assert not net.seen_in("b1")

        await cdmx.command("a1", "share", "confirm", who="mod", admin=True)
        await eventually(lambda: len(copies("b1", "Marta")) == 1, what="crossed on confirm")
        await eventually(lambda: len(copies("c1", "Marta")) == 1, what="NYC too")
        # confirmed once: a second confirm has nothing waiting
        await cdmx.command("a1", "share", "confirm", who="mod", admin=True)
        await settled(net)
        assert len(copies("b1", "Marta")) == 1

        # a thread with nothing personal is shared at once
        plain = await cdmx.post("a1", "Asamblea el sábado a las 18:00 en el parque")
        await cdmx.command("a1", "share", reply_to=plain, who="mod", admin=True)
        await eventually(lambda: len(copies("b1", "Asamblea")) == 1, what="shared at once")

    trail = [(e.who, e.action, e.outcome, e.detail) for e in await Audit(redis_client, 90).read()]
    assert ("memory:mod", "share", "paused", "privacy check: phone") in trail
    assert ("memory:mod2", "share", "refused", "confirm: nothing waiting") in trail
    assert all("5678" not in d for *_, d in trail)


@pytest.mark.parametrize(
    ("language", "text", "kinds"),
    [
        ("es", "Vive en la calle Luna 23, 3ºB", ["address"]),
        ("es", "Mi DNI es 12345678Z", ["id"]),
        ("de", "Treffen vor der Hauptstraße 12", ["address"]),
        ("de", "Ruf an: 030 12345678", ["phone"]),
        ("en", "Write to ana@example.org", ["email"]),
        ("en", "She lives at 42 Maple Street", ["address"]),
        ("en", "SSN 123-45-6789", ["id"]),
        ("fr", "Rendez-vous au 12 rue de la Paix", ["address"]),
        ("it", "Ci vediamo in via Roma 10", ["address"]),
        ("it", "CF RSSMRA85T10A562S", ["id"]),
        ("pt", "Moro na Rua das Flores, 45", ["address"]),
        ("ca", "Som al carrer Major 7", ["address"]),
        # what must not pause a share: dates, times, prices, counts, a street without number
        ("es", "Asamblea el 2026-12-04 a las 18:00, cuota 1500 pesos", []),
        ("es", "Desalojo en la calle Luna mañana", []),
        ("en", "We were 1,500 people in 2025, 3 buses", []),
        ("de", "Demo am 12.12.2026 um 14 Uhr", []),
    ],
)
def test_the_check_finds_personal_data_per_locale_and_leaves_dates_and_counts(
    language: str, text: str, kinds: list[str]
) -> None:
    found = findings([text], language)
    assert set(kinds) <= set(found)  # an ID may also look like a phone number: both named
    if not kinds:
        assert found == []


@contextlib.asynccontextmanager
async def on_a_manual_clock(loaded: LoadedConfig) -> AsyncIterator[tuple[ManualClock, Any]]:
    """The bridge with its clock in the test's hand (consent waits, lapses)."""
    clock = ManualClock(datetime.now(UTC))
    app = App(loaded, lease_ms=1000)
    app.callout_clock = clock
    async with running_app(app):
        yield clock, NETWORK


async def test_a_paused_share_lapses_after_10_minutes_with_a_notice(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    loaded = memory_config(tmp_path, redis_url, relay="moderated")
    async with on_a_manual_clock(loaded) as (clock, net):
        cdmx = net.bot("a")
        root = await cdmx.post("a1", "Escriban a marta@example.org")
        await cdmx.command("a1", "share", reply_to=root, who="mod", admin=True)
        await eventually(lambda: any("+share confirm" in a for a in answers("a1")), what="asked")
        assert "una dirección de correo" in next(a for a in answers("a1") if "+share" in a)
        clock.advance(timedelta(minutes=9))
        await settled(net)
        assert not any("no se confirmó" in a for a in answers("a1"))
        clock.advance(timedelta(minutes=2))
        await eventually(lambda: any("no se confirmó" in a for a in answers("a1")), what="lapse")
        await cdmx.command("a1", "share", "confirm", who="mod", admin=True)
        await eventually(lambda: any("nada que confirmar" in a for a in answers("a1")))
        await settled(net)
        assert not net.seen_in("b1")
        # a member cannot play the clock: the timer's words from a person do nothing
        await cdmx.command("a1", "share", "lapsed memory:mod", who="mod", admin=True)
        await settled(net)
        assert sum("no se confirmó" in a for a in answers("a1")) == 1


async def test_with_consent_minutes_authors_are_named_and_one_who_says_no_stays_home(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    circles = [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": "moderated",
                "consent_minutes": 5}]  # fmt: skip
    loaded = memory_config(tmp_path, redis_url, circles=circles)
    async with on_a_manual_clock(loaded) as (clock, net):
        cdmx = net.bot("a")
        root = await cdmx.post("a1", "Asamblea el sábado en el parque", name="Ana")
        await cdmx.post("a1", "Yo llevo la lona", who="leo", name="Leo", reply_to=root)
        await cdmx.command("a1", "share", reply_to=root, who="mod", admin=True)
        await eventually(lambda: any("+no" in a for a in answers("a1")), what="consent notice")
        notice = next(m for m in net.seen_in("a1") if m.notice and "+no" in m.text)
        assert "Ana" in notice.text
        assert "Leo" in notice.text
        assert "5 minutos" in notice.text
        await settled(net)
        assert not net.seen_in("b1")  # it waits

        await cdmx.command("a1", "no", reply_to=notice.id, who="sam")  # not an author
        await cdmx.command("a1", "no", reply_to=root, who="leo")  # not the notice
        await cdmx.command("a1", "no", reply_to=notice.id, who="leo")
        await eventually(lambda: any("no pasarán" in a for a in answers("a1")), what="noted")
        clock.advance(timedelta(minutes=6))
        await eventually(lambda: len(copies("b1", "Asamblea")) == 1, what="carried")
        assert not copies("b1", "lona")  # Leo said no
        await eventually(lambda: len(copies("c1", "Asamblea")) == 1)
        # later replies: Ana's follow, Leo's stay home
        await cdmx.post("a1", "Leo, trae cuerdas", who="leo", name="Leo", reply_to=root)
        await cdmx.post("a1", "Llevo café", name="Ana", reply_to=root)
        await eventually(lambda: len(copies("b1", "café")) == 1, what="Ana's reply")
        assert not copies("b1", "cuerdas")

    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert ("memory:sam", "no", "refused") in trail
    assert ("memory:leo", "no", "refused") in trail
    assert ("memory:leo", "no", "done") in trail
    assert ("memory:mod", "share", "waiting") in trail
