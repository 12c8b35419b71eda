"""Updates python-telegram-bot cannot read (a Bot API newer than the library, a faulty one):
each is skipped, acknowledged and logged in one line without its body, and the updates after
it still cross, by polling and by webhook."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import ANA, BERLIN, CDMX, TOKEN_A, telegram_world, texts, world_bots
from tests.bots.telegram_world import world_config as config
from tests.bots.test_telegram_media import free_port
from tests.harness import eventually, running
from tests.helpers import BODY_CANARY

MALFORMED: dict[str, dict[str, Any]] = {
    # a poll without the fields the library requires (TypeError in the library)
    "poll": {"poll": {"id": "p1", "question": f"¿Marcha el sábado? {BODY_CANARY}"}},
    # a message that is not an object (AttributeError)
    "message": {"message": f"Calle Luna 5 {BODY_CANARY}"},
    # a message without its date (KeyError)
    "edited_message": {
        "edited_message": {
            "message_id": 7,
            "chat": {"id": CDMX, "type": "supergroup"},
            "text": f"Calle Luna 5 {BODY_CANARY}",
        }
    },
}


def skipped_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "could not be parsed" in r.getMessage()]


def assert_logged_without_body(caplog: pytest.LogCaptureFixture, kind: str, bad: int) -> None:
    """One line names the update's kind and id; no record at all holds its body."""
    lines = skipped_lines(caplog)
    assert len(lines) == 1, [r.getMessage() for r in lines]
    line = lines[0]
    assert f"update {bad} ({kind})" in line.getMessage()
    assert line.exc_info is None
    assert "\n" not in line.getMessage()
    assert not [r for r in caplog.records if BODY_CANARY in r.getMessage()]


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_an_update_the_library_cannot_read_is_skipped_and_polling_goes_on(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    tg: BotApiServer,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running(config(tmp_path, redis_url, tg, only=("cdmx", "berlin"))):
        bad = tg.queue_raw_update(TOKEN_A, MALFORMED[kind])
        tg.post(CDMX, ANA, "Asamblea mañana a las 18")
        await eventually(lambda: any("Asamblea" in (t or "") for t in texts(tg, BERLIN)),
                         what="the next message in Berlin")  # fmt: skip
        # acknowledged: Telegram does not hand it over again and again
        await eventually(lambda: all(u["update_id"] != bad for u in tg.updates_pending(TOKEN_A)),
                         what="the malformed update confirmed")  # fmt: skip
        tg.post(CDMX, ANA, "Y otra cosa")
        await eventually(lambda: any("otra cosa" in (t or "") for t in texts(tg, BERLIN)))
    assert_logged_without_body(caplog, kind, bad)
    assert not any(BODY_CANARY in (t or "") for t in texts(tg, BERLIN))


async def test_an_update_the_library_cannot_read_is_skipped_by_the_webhook_too(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{free_port()}/telegram/tg-a"
    async with telegram_world() as tg:
        tg.webhooks.retry = 0.05
        bots = world_bots(tg)
        bots[0]["webhook_url"] = url  # tg-a takes its updates by webhook
        cfg = config(tmp_path, redis_url, tg, only=("cdmx", "berlin"), bots=bots)
        async with running(cfg):
            bad = tg.queue_raw_update(TOKEN_A, MALFORMED["poll"])
            tg.post(CDMX, ANA, "Asamblea por webhook")
            await eventually(lambda: any("webhook" in (t or "") for t in texts(tg, BERLIN)),
                             what="the next message in Berlin")  # fmt: skip
            assert all(u["update_id"] != bad for u in tg.updates_pending(TOKEN_A))
    assert_logged_without_body(caplog, "poll", bad)
