"""The command menu Telegram shows members, in their app's language: ``setMyCommands`` once per
language the bridge has a catalog in (``language_code``), and once without one (English) for
everyone else. The words come from the catalogs through ``BotContext.commands``; the command
words themselves are the same in every language.

A menu the Bot API refuses is logged and left: the commands work without it.
"""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from bridge.model.ports import CommandMenu

log = logging.getLogger(__name__)

DESCRIPTION = 256  # the longest description the Bot API takes
_COMMAND_WORD = "abcdefghijklmnopqrstuvwxyz0123456789_"


def _fit(text: str) -> str:
    return text if len(text) <= DESCRIPTION else text[: DESCRIPTION - 1].rstrip() + "…"


async def publish_commands(bot: Bot, bot_id: str, menu: CommandMenu) -> None:
    """Set the menu for every language in ``menu`` ("" is the default)."""
    for language, items in menu.items():
        commands = [
            BotCommand(name, _fit(description))
            for name, description in items
            if name and set(name) <= set(_COMMAND_WORD) and description
        ]
        try:
            await bot.set_my_commands(commands, language_code=language or None)
        except TelegramError as exc:
            log.warning("telegram bot %s: setMyCommands (%s) refused: %s",
                        bot_id, language or "default", exc)  # fmt: skip
