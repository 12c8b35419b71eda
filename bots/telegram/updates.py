"""Updates as the Bot API sends them, read one at a time.

python-telegram-bot's ``get_updates`` parses a whole batch in one go: one update it cannot
read (a kind or shape newer than the library, a field missing, a faulty server) raises out of
the call, so no update of the batch is taken, the offset never moves and the same batch comes
back forever; the library also logs that batch's raw JSON, message bodies included, at
CRITICAL. So the batch is fetched here as JSON (through the bot's own getUpdates HTTP client,
by its public ``post``) and each update parsed alone: one the library cannot read is skipped
and logged in one line with its kind and update_id only, and the offset moves past it with
the others, so it is acknowledged and not handed over again. The webhook parses each update
it is posted with ``parse`` too, and answers 200 for a skipped one (else Telegram would post
it forever and hold back every update after it).
"""

from __future__ import annotations

import json
import logging
import re
from urllib.parse import urlencode

from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.request import BaseRequest

log = logging.getLogger(__name__)

_FIELD = re.compile(r"[a-z_]{1,64}")  # an update's kind, as the Bot API names fields


async def fetch(
    bot: Bot,
    request: BaseRequest,
    offset: int,
    wait_s: int,
    allowed: list[str] | None,
    limit: int = 100,
) -> list[object]:
    """One getUpdates call (long-polling ``wait_s`` seconds): the updates, unparsed. Raises
    TelegramError (InvalidToken, a NetworkError, ...) as python-telegram-bot's own call
    would, and for an answer that is not a list of updates."""
    fields: dict[str, object] = {"offset": offset, "timeout": wait_s, "limit": limit}
    if allowed is not None:  # None: as the bot last asked (getUpdates keeps it)
        fields["allowed_updates"] = json.dumps(allowed)
    query = urlencode(fields)
    try:
        result: object = await request.post(f"{bot.base_url}/getUpdates?{query}")
    except KeyError:  # an answer with "ok" but no "result"
        raise TelegramError("getUpdates answered without a result") from None
    if not isinstance(result, list):
        raise TelegramError("getUpdates answered something other than a list")
    return list(result)


def last_id(updates: list[object]) -> int | None:
    """The highest update_id of a batch (None if it holds none): the offset moves past it."""
    ids = [u.get("update_id") for u in updates if isinstance(u, dict)]
    numbers = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    return max(numbers, default=None)


def describe(data: object) -> tuple[str, str]:
    """An update's id and kind, for a log line: field names only, never a value."""
    if not isinstance(data, dict):
        return "?", type(data).__name__
    update_id = data.get("update_id")
    shown = str(update_id) if isinstance(update_id, int) else "?"
    kinds = [k for k in data if k != "update_id" and isinstance(k, str) and _FIELD.fullmatch(k)]
    return shown, ",".join(kinds[:3]) or "?"


def parse(bot_id: str, data: object, bot: Bot) -> Update | None:
    """The update, or None (logged in one line, without its body) if the library cannot
    read it."""
    try:
        if not isinstance(data, dict):
            raise TypeError("not an object")  # noqa: TRY301 - one path for every bad shape
        return Update.de_json(data, bot)
    except Exception as exc:  # the library raises anything on a bad shape
        update_id, kind = describe(data)
        log.warning("telegram bot %s: update %s (%s) could not be parsed (%s); skipped",
                    bot_id, update_id, kind, type(exc).__name__)  # fmt: skip
        return None
