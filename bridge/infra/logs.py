"""Logging set-up for the CLI: text or JSON lines, with secrets redacted from every line.

Redaction happens on the formatted line, so it covers what libraries log too (httpx logs
request URLs, and Bot API URLs carry the token). Only the CLI calls ``setup_logging``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from bridge.model.redaction import Redactor, add_secrets, on_change, redact


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
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, ()
        return record

    logging.setLogRecordFactory(redacting)
    _factory_installed = True


def setup_logging(fmt: str = "text", level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Install one stderr handler on the root logger (replacing an earlier one of ours)."""
    global _handler
    add_secrets(secrets)
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
    _hold()


# httpx logs every request URL at INFO; Bot API URLs hold the token (redacted anyway).
# deep-translator puts message texts in URLs, and urllib3 logs them at DEBUG: never.
# Pillow logs image metadata (GPS included) at DEBUG while it reads and writes EXIF.
# Platform adapters add their client libraries' loggers (``quiet``).
_QUIET = {
    "httpx", "httpcore", "hpack", "aiohttp.access", "urllib3", "requests", "deep_translator",
    "PIL",
}  # fmt: skip
_SILENT: set[str] = set()


def quiet(loggers: Iterable[str], silent: Iterable[str] = ()) -> None:
    """Hold ``loggers`` at WARNING (they log bodies or URLs below it) and silence ``silent``
    entirely (they quote bodies even when they warn), now and after any later set-up."""
    _QUIET.update(loggers)
    _SILENT.update(silent)
    _hold()


def _hold() -> None:
    root = logging.getLogger()
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in _SILENT:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def teardown_logging() -> None:
    """Remove the handler ``setup_logging`` installed (redaction of records stays)."""
    global _handler
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler = None


def _follow(redactor: Redactor) -> None:
    """Keep our handler's formatter redacting what the redaction knows now."""
    if _handler is not None and isinstance(_handler.formatter, _RedactingFormatter):
        _handler.formatter.redact = redactor


on_change(_follow)
