"""Logs never carry tokens, passwords or keys, whoever logs them."""

from __future__ import annotations

import json
import logging

import pytest

from bridge.app import adapters
from bridge.infra.logs import setup_logging, teardown_logging
from bridge.model.redaction import Redactor, add_secrets
from tests.helpers import TOKEN


def test_bot_tokens_are_redacted_by_shape_even_when_unknown() -> None:
    redact = Redactor()
    line = f"HTTP Request: POST https://api.telegram.org/bot{TOKEN}/getUpdates 200"
    assert TOKEN not in redact(line)
    assert "/bot***/getUpdates" in redact(line)
    assert TOKEN not in redact(f"token {TOKEN} refused")
    assert TOKEN not in redact(f"wss://host/bot{TOKEN}")  # glued to letters, no slash before
    assert TOKEN not in redact(f"url=x&token={TOKEN}&y")


def test_known_secrets_and_credentials_in_urls_are_redacted() -> None:
    redact = Redactor(["hunter2-secret"])
    assert "hunter2" not in redact("login with hunter2-secret failed")
    assert "s3cr3t" not in redact("redis://:s3cr3t@10.0.0.1:6379/0 unreachable")
    assert "abc123" not in redact("GET /sync?access_token=abc123&since=5")
    assert "xyz" not in redact("Authorization: Bearer xyz")
    token = "syt_YW5h_RkxgNTWpaXyeHpRnqeXb_2mV8Kd"  # the shape of a Synapse access token
    assert token not in redact(f'{{"access_token": "{token}"}}')


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_library_log_lines_are_redacted(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(fmt, "DEBUG")
    add_secrets(["matrix-password-42"])
    logging.getLogger("some.library").debug("logging in with matrix-password-42")
    logging.getLogger("httpx").warning("POST https://api.telegram.org/bot%s/sendMessage", TOKEN)
    err = capsys.readouterr().err
    assert "matrix-password-42" not in err
    assert TOKEN not in err
    assert err.count("***") == 2
    if fmt == "json":
        entries = [json.loads(line) for line in err.strip().splitlines()]
        assert {e["logger"] for e in entries} == {"some.library", "httpx"}
    teardown_logging()
    logging.getLogger().setLevel(logging.DEBUG)  # the whole-run log check listens at DEBUG


def test_libraries_that_log_texts_in_urls_stay_quiet_even_at_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging("text", "DEBUG")
    logging.getLogger("urllib3.connectionpool").debug('"GET /m?q=home+address HTTP/1.1" 200')
    logging.getLogger("httpx").info("HTTP Request: POST http://127.0.0.1/translate")
    assert "home+address" not in capsys.readouterr().err
    teardown_logging()
    logging.getLogger().setLevel(logging.DEBUG)  # the whole-run log check listens at DEBUG


def test_matrix_nio_stays_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    """nio logs every event at INFO, contents at DEBUG, and quotes malformed events (bodies)
    at WARNING and ERROR: silenced, once a Matrix bot's adapter is loaded (its platform says so)."""
    adapters(["matrix"])
    setup_logging("text", "DEBUG")
    logging.getLogger("nio.rooms").info("Room !abc handling event of type RoomMessageText")
    logging.getLogger("nio.responses").debug('{"body": "the home address"}')
    logging.getLogger("nio.events.misc").warning("Error validating event: ['the home address']")
    logging.getLogger("nio.crypto").error("verify failed: {'body': 'the home address'}")
    assert capsys.readouterr().err == ""
    teardown_logging()
    logging.getLogger().setLevel(logging.DEBUG)  # the whole-run log check listens at DEBUG


def test_python_telegram_bot_stays_at_warning_so_no_body_shows_at_debug(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """python-telegram-bot logs every call's parameters and answer at DEBUG (message texts):
    held, once a Telegram bot's adapter is loaded (its platform says so). The real library
    against the sandbox: tests/bots/test_telegram_hostile.py."""
    adapters(["telegram"])
    setup_logging("text", "DEBUG")
    ptb = logging.getLogger("telegram.Bot")
    ptb.debug("Calling Bot API endpoint `sendMessage` with `{'text': 'the home address'}`")
    ptb.info("Call returned `{'text': 'the home address'}`")
    assert "home address" not in capsys.readouterr().err
    teardown_logging()
    logging.getLogger().setLevel(logging.DEBUG)  # the whole-run log check listens at DEBUG
