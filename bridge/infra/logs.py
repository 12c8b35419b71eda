"""Logging set-up for the CLI: text or JSON lines, with secrets redacted from every line.

Redaction happens on the formatted line, so it covers what libraries log too (httpx logs
request URLs, and Bot API URLs carry the token). Only the CLI calls ``setup_logging``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

REDACTED = "***"

# Tokens recognizable by shape, whether or not they are in the config.
_SHAPES = [
    (re.compile(r"(/bot|/file/bot)\d+:[A-Za-z0-9_-]+"), r"\1" + REDACTED),
    (re.compile(r"(?<!\d)\d{6,}:[A-Za-z0-9_-]{30,}"), REDACTED),  # a Bot API token, anywhere
    (re.compile(r"\bsy[td]_[A-Za-z0-9_-]{10,}"), REDACTED),  # a Synapse access/device token
    (re.compile(r"(access_token=|api_key=|auth_key=|password=)[^&\s\"']+", re.I), r"\1" + REDACTED),
    (re.compile(r"(Authorization:?\s*(?:Bearer|Basic)\s+)\S+", re.I), r"\1" + REDACTED),
    (re.compile(r"((?:redis|rediss)://[^:/@\s]*:)[^@\s]+@"), r"\1" + REDACTED + "@"),
]


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, replacement in _SHAPES:
            text = pattern.sub(replacement, text)
        return text


class _RedactingFormatter(logging.Formatter):
    def __init__(self, inner: logging.Formatter, redact: Redactor) -> None:
        super().__init__()
        self.inner = inner
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


_handler: logging.Handler | None = None
_redact = Redactor()
_factory_installed = False


def install_redaction() -> None:
    """Redact every log record as it is made, so that every handler (ours, an operator's,
    a test's) only ever sees redacted text."""
    global _factory_installed
    if _factory_installed:
        return
    make = logging.getLogRecordFactory()

    def redacting(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            return record
        clean = _redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, ()
        return record

    logging.setLogRecordFactory(redacting)
    _factory_installed = True


def setup_logging(fmt: str = "text", level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Install one stderr handler on the root logger (replacing an earlier one of ours)."""
    global _handler, _redact
    _redact = Redactor([*_redact.secrets, *secrets])
    install_redaction()
    inner: logging.Formatter
    if fmt == "json":
        inner = JsonFormatter()
    else:
        inner = logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter(inner, Redactor(secrets)))
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    root.setLevel(level)
    _handler = handler
    # httpx logs every request URL at INFO; Bot API URLs hold the token (redacted anyway).
    # deep-translator puts message texts in URLs, and urllib3 logs them at DEBUG: never.
    # Pillow logs image metadata (GPS included) at DEBUG while it reads and writes EXIF.
    # matrix-nio logs every event it handles at INFO, and event contents at DEBUG...
    for noisy in (
        "httpx", "httpcore", "hpack", "aiohttp.access", "peewee", "urllib3", "requests",
        "deep_translator", "PIL", "nio",
    ):  # fmt: skip
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # ...and it quotes a malformed event (a message body) when it warns about it: never.
    logging.getLogger("nio").setLevel(logging.CRITICAL)


def teardown_logging() -> None:
    """Remove the handler ``setup_logging`` installed (redaction of records stays)."""
    global _handler
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler = None


def add_secrets(secrets: Iterable[str]) -> None:
    """Teach the redaction more secrets (once the config is loaded)."""
    global _redact
    _redact = Redactor([*_redact.secrets, *secrets])
    if _handler is None:
        return
    formatter = _handler.formatter
    if isinstance(formatter, _RedactingFormatter):
        formatter.redact = _redact


def known_secrets() -> list[str]:
    """The secrets the redaction knows (for tests that check whole runs' logs)."""
    return list(_redact.secrets)
