"""Secrets never reach a log line: redaction by known value and by shape.

Adapters teach it secrets they learn at run time (a Matrix access token from a login) with
``add_secrets``; ``bridge.infra.logs`` applies ``redact`` to every log record. Shapes catch
tokens nobody told it about (a Bot API token in a URL, a Synapse token, a Redis password).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

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


_redactor = Redactor()
_listeners: list[Callable[[Redactor], None]] = []


def redact(text: str) -> str:
    return _redactor(text)


def add_secrets(secrets: Iterable[str]) -> None:
    """Teach the redaction more secrets (once the config is loaded, or a token learned)."""
    global _redactor
    _redactor = Redactor([*_redactor.secrets, *secrets])
    for listener in _listeners:
        listener(_redactor)


def known_secrets() -> list[str]:
    """The secrets the redaction knows (for tests that check whole runs' logs)."""
    return list(_redactor.secrets)


def on_change(listener: Callable[[Redactor], None]) -> None:
    """Call ``listener`` with the new redactor whenever it learns a secret."""
    _listeners.append(listener)
