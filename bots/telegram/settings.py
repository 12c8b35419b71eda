"""Telegram's settings model and the shapes of its ids, without python-telegram-bot.

The package's registration (``bots/telegram/__init__.py``) and the modules that run the bot
(``bot.py``, ``check.py``) all read these from here, so that none of them imports the
package's ``__init__`` back: the registration loads the running modules only lazily, inside
its factory and check functions.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bridge.model.settings import BotSettings, Secret

OFFICIAL_API = "https://api.telegram.org"
MAX_FILE = 20 * 1024 * 1024  # the Bot API's getFile limit: a bot fetches no larger file
_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")


class TelegramSettings(BotSettings):
    platform: Literal["telegram"]
    token: Secret
    api_url: str = OFFICIAL_API
    webhook_url: str | None = None
    webhook_listen: str | None = Field(default=None, pattern=r"^[^:\s]*:\d+$")
    # Testing against the sandbox Bot API server, which can shorten Telegram's limit windows
    # alike: the bot paces itself on the same shortened windows. Leave at 1 for Telegram.
    limits_scale: float = Field(default=1.0, gt=0, le=1)
    poll_timeout: int = Field(default=20, ge=0, le=50)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, token: Secret) -> Secret:
        if not _TOKEN.match(token.get_secret_value()):
            raise ValueError("is not a Bot API token (<digits>:<35 characters>, from BotFather)")
        return token

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        if "/bot" in url:
            raise ValueError("give the server's base URL; translocal adds /bot<token>/ itself")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _webhook(self) -> TelegramSettings:
        url = self.webhook_url
        if url is None:
            return self
        # Telegram itself posts to https:// only; a self-hosted Bot API server (--local)
        # may post to plain http://, on a machine or network of the operator's own
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"webhook_url {url!r} is not an https:// URL")
        if url.startswith("http://") and self.api_url == OFFICIAL_API:
            raise ValueError("Telegram sends webhooks to https:// URLs only")
        return self


def chat_id(chat: str) -> int | str:
    """A configured chat as the Bot API takes it: a numeric id, or an @username."""
    return int(chat) if chat.lstrip("-").isdigit() else chat


def check_chat(chat: str) -> str | None:
    if re.fullmatch(r"-?\d+", chat) or re.fullmatch(r"@[A-Za-z][A-Za-z0-9_]{4,}", chat):
        return None
    return f"{chat!r} is not a Telegram chat id (a number such as -1001234567890, or @username)"


def check_person(who: str) -> str | None:
    """None when ``who`` (of "telegram:<who>" in moderators/organizers) is a user id."""
    return None if who.isdigit() else "a Telegram user id is a number"


def identity(settings: BotSettings) -> str | None:
    """The sender id the bot posts as: its user id is the token's number."""
    if not isinstance(settings, TelegramSettings):
        return None
    return f"telegram:{settings.token.get_secret_value().split(':', 1)[0]}"
