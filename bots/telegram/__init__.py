"""Telegram: the platform's registration, its facts for the core, and nothing that runs.

Importing this package must not import python-telegram-bot: the registry imports it to learn
the settings model and the platform's facts (person ids, command prefix, text and file limits,
reactions, the library's loggers and environment), also when no Telegram bot is configured.
The bot itself (``bot.py``, which splits its work into ``ingest.py``, ``send.py``,
``render.py``, ``limits.py`` and ``webhook.py``) and ``check.py`` load only inside the
factory and the check function below.
"""

from __future__ import annotations

from types import MappingProxyType

from bots.telegram.reactions import REACTIONS
from bots.telegram.render import utf16_len
from bots.telegram.settings import (
    MAX_FILE,
    TelegramSettings,
    check_chat,
    check_person,
    identity,
)
from bridge.model.platforms import Platform, RoomCheck, SeenChat, TextLimit, register
from bridge.model.ports import Bot, BotContext
from bridge.model.settings import BotSettings, RoomConfig

__all__ = ["PLATFORM", "REACTIONS", "TelegramSettings", "check_chat"]


def _make(ctx: BotContext[TelegramSettings]) -> Bot:
    from bots.telegram.bot import TelegramBot  # python-telegram-bot's Bot only when running

    return TelegramBot(ctx)


async def _check(settings: BotSettings, rooms: list[RoomConfig]) -> list[RoomCheck]:
    from bots.telegram.check import check_rooms

    if not isinstance(settings, TelegramSettings):
        raise TypeError(f"bot {settings.id} is not a Telegram bot")
    return await check_rooms(settings, rooms)


async def _discover(settings: BotSettings) -> list[SeenChat]:
    from bots.telegram.discover import discover

    if not isinstance(settings, TelegramSettings):
        raise TypeError(f"bot {settings.id} is not a Telegram bot")
    return await discover(settings)


PLATFORM = register(
    Platform(
        name="telegram",
        settings=TelegramSettings,
        check_chat=check_chat,
        check_person=check_person,
        person_hint="<user id>",
        command_prefixes=("/",),
        # 4,096 UTF-16 units after entity parsing; a call-out keeps room for its heading
        text_limit=TextLimit(4000, "UTF-16 units", utf16_len),
        max_file=MAX_FILE,
        # httpx logs every request URL at INFO, and Bot API URLs hold the token;
        # python-telegram-bot logs every call's parameters and answer (bodies) at DEBUG
        quiet_loggers=("httpx", "httpcore", "hpack", "telegram"),
        # python-telegram-bot 22 warns on every 429 unless it may report waits as timedeltas,
        # which the adapter reads either way
        environment=MappingProxyType({"PTB_TIMEDELTA": "true"}),
        reactions=REACTIONS,
        topics=True,
        identity=identity,
        factory=_make,
        check_rooms=_check,
        discover=_discover,
    )
)
