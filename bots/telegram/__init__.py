"""Telegram: the bot's settings and the platform's facts; the bot is in telegram_bot.py."""

from __future__ import annotations

import re
from typing import Literal, cast

from pydantic import Field, field_validator, model_validator
from telegram.constants import ReactionEmoji

from bridge.model.platforms import Platform, RoomCheck, register
from bridge.model.ports import Bot, BotContext
from bridge.model.settings import BotSettings, RoomConfig, Secret

OFFICIAL_API = "https://api.telegram.org"
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


def _make(ctx: BotContext) -> Bot:
    from bots.telegram.bot import TelegramBot  # python-telegram-bot's Bot only when running

    settings = cast(TelegramSettings, ctx.settings)
    return TelegramBot(ctx, poll_timeout=settings.poll_timeout, scale=settings.limits_scale)


async def _check(settings: BotSettings, rooms: list[RoomConfig]) -> list[RoomCheck]:
    from bots.telegram.check import check_rooms

    return await check_rooms(settings, rooms)


# Telegram's fixed set of reactions; the bridge compares them without variation selectors.
REACTIONS = frozenset(e.value.replace("\ufe0f", "") for e in ReactionEmoji)

PLATFORM = register(
    Platform(
        name="telegram",
        settings=TelegramSettings,
        check_chat=check_chat,
        reactions=REACTIONS,
        topics=True,
        identity=lambda s: f"telegram:{s.token.get_secret_value().split(':', 1)[0]}",  # type: ignore[attr-defined]
        factory=lambda ctx: _make(ctx),
        check_rooms=lambda settings, rooms: _check(settings, rooms),
    )
)
