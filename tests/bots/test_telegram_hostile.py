"""Hostile cases through the real Telegram adapter and the sandbox Bot API server (issue 17):
a file Telegram will not hand over holds up nothing, and python-telegram-bot at DEBUG logs
no message body."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis.asyncio
from telegram import Bot

from bridge.app import adapters
from bridge.infra.logs import setup_logging, teardown_logging
from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import ANA, BERLIN, CDMX, TOKEN_A, texts
from tests.bots.telegram_world import world_config as config
from tests.bots.test_telegram_media import photo_with_gps
from tests.harness import eventually, running
from tests.helpers import BODY_CANARY


async def test_a_file_telegram_will_not_hand_over_crosses_as_a_note_and_holds_up_nothing(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    tg.inject("getFile", status=502, count=50)  # every try fails, for as long as it tries
    async with running(config(tmp_path, redis_url, tg, only=("cdmx", "berlin"))):
        tg.post(CDMX, ANA, "Foto del desalojo", photo=photo_with_gps())
        tg.post(CDMX, ANA, "Y después de la foto, esto")
        await eventually(lambda: any("después de la foto" in (t or "") for t in texts(tg, BERLIN)),
                         timeout=60)  # fmt: skip
    shown = [t or "" for t in texts(tg, BERLIN)]
    photo = next(t for t in shown if "Foto del desalojo" in t)
    assert "Datei konnte nicht übertragen werden" in photo  # in Berlin's language
    assert shown.index(photo) < next(i for i, t in enumerate(shown) if "después" in t)
    assert tg.fault_counts[("502", "getfile")] >= 2  # it was tried again, a bounded number


async def test_python_telegram_bot_logs_no_message_body_at_debug(
    tg: BotApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    adapters(["telegram"])  # the platform's registration holds its library's loggers
    setup_logging("text", "DEBUG")
    try:
        async with Bot(
            TOKEN_A, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot"
        ) as bot:
            await bot.send_message(CDMX, f"Calle Luna 5 {BODY_CANARY}")
            await bot.get_updates(timeout=0)
        logging.getLogger("telegram.ext").debug("a body %s", BODY_CANARY)
    finally:
        teardown_logging()
        logging.getLogger().setLevel(logging.DEBUG)  # the whole-run log check listens at DEBUG
    assert tg.messages(CDMX)[-1]["text"].endswith(BODY_CANARY)
    assert BODY_CANARY not in capsys.readouterr().err
