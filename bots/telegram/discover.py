"""`translocal discover` for Telegram: the chats and forum topics in the bot's pending updates.

The Bot API cannot list the chats a bot is in; it only hands out updates. So discover reads
the updates Telegram still holds for the bot (up to 24 hours, the oldest 100) with one
``getUpdates`` that passes no ``offset`` and no ``allowed_updates``: it confirms nothing and
changes nothing, so ``translocal run`` later still gets every one of those updates. A chat
shows up once something happened in it since the bridge last ran: the bot was added, or a
member posted. Each chat is listed once (with the kind and title of its latest update), and
each forum topic once more, with its name when an update carries it (the topic's creation or
a renaming, or a message in the topic that replies to the topic's first message).

Only one reader of a bot's updates may exist at a time: a webhook or another ``getUpdates``
(a running ``translocal run``) makes Telegram answer 409 Conflict, and a discover call ends a
running bridge's long poll with 409. Discover is for set-up, before ``run``: the 409 is
reported as such, with what to do.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from telegram import Bot, Chat, Message, Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bots.telegram.settings import TelegramSettings
from bots.telegram.updates import fetch, parse
from bridge.model.errors import ServiceUnavailable
from bridge.model.platforms import SeenChat

log = logging.getLogger(__name__)

BATCH = 100  # the most one getUpdates returns; paging on would confirm the first ones
CONFLICT = (
    "409 Conflict: {why}; discover is for set-up, before `translocal run`: stop the bridge "
    "(or delete the webhook) for a moment and try again"
)


@dataclass
class _Chat:
    kind: str
    title: str
    status: str = "member"


async def discover(settings: TelegramSettings) -> list[SeenChat]:
    """The chats and topics in the bot's pending updates, oldest first.

    Raises ServiceUnavailable when the token is refused, the Bot API is unreachable, or
    another reader holds the updates (409)."""
    request = HTTPXRequest()  # read by bots.telegram.updates, one update at a time
    bot = Bot(
        settings.token.get_secret_value(),
        base_url=f"{settings.api_url}/bot",
        base_file_url=f"{settings.api_url}/file/bot",
        get_updates_request=request,
    )
    try:  # shut down whatever happens: a refused token leaves open connections otherwise
        try:
            await bot.initialize()
        except InvalidToken:  # its message quotes the token: never shown
            raise ServiceUnavailable(
                "the Bot API refused the token: get one from @BotFather"
            ) from None
        bot_id = bot.id
        # no offset: nothing is confirmed; timeout 0: what is pending now is what there is.
        # Read one update at a time: one the library cannot read is skipped, not fatal, and
        # its body never reaches a log line (bots.telegram.updates)
        raw = await fetch(bot, request, 0, 0, None, limit=BATCH)
        updates = tuple(u for u in (parse(settings.id, d, bot) for d in raw) if u is not None)
    except Conflict as exc:
        why = "a webhook is set for this bot" if "webhook" in exc.message.lower() else (
            "another program reads this bot's updates (a running `translocal run`?)")  # fmt: skip
        raise ServiceUnavailable(CONFLICT.format(why=why)) from None
    except NetworkError as exc:
        raise ServiceUnavailable(
            f"the Bot API at {settings.api_url} is unreachable ({type(exc).__name__})"
        ) from None
    finally:
        with contextlib.suppress(TelegramError):
            await bot.shutdown()
    if len(updates) >= BATCH:
        log.warning("telegram bot %s: %d updates are waiting; discover sees only the oldest "
                    "%d (a chat missing here shows after `translocal run` took them)",
                    settings.id, len(updates), BATCH)  # fmt: skip
    return seen_chats(updates, bot_id)


def seen_chats(updates: tuple[Update, ...], bot_id: int) -> list[SeenChat]:
    """Each chat once, then each of its topics, in the order they first appear."""
    chats: dict[int, _Chat] = {}
    topics: dict[tuple[int, int], str | None] = {}
    for update in updates:
        chat = update.effective_chat
        if chat is None:
            continue
        seen = chats.setdefault(chat.id, _Chat(chat.type, ""))
        seen.kind, seen.title = str(chat.type), _title(chat) or seen.title
        member = update.my_chat_member
        if member is not None and member.new_chat_member.user.id == bot_id:
            seen.status = "left" if member.new_chat_member.status in ("left", "kicked") else (
                "member")  # fmt: skip
        message = update.effective_message
        if message is not None and message.is_topic_message and message.message_thread_id:
            key = (chat.id, message.message_thread_id)
            topics[key] = _topic_name(message) or topics.get(key)
    found: list[SeenChat] = []
    for chat_id, seen in chats.items():
        found.append(SeenChat(str(chat_id), seen.title, seen.kind, status=seen.status))
        for (of_chat, topic), name in topics.items():
            if of_chat == chat_id:
                found.append(SeenChat(str(chat_id), seen.title, seen.kind, topic=topic,
                                      topic_name=name, status=seen.status))  # fmt: skip
    return found


def _title(chat: Chat) -> str:
    if chat.title:
        return chat.title
    name = " ".join(part for part in (chat.first_name, chat.last_name) if part)
    return f"{name} (@{chat.username})" if chat.username else name


def _topic_name(message: Message) -> str | None:
    for candidate in (message, message.reply_to_message):
        if candidate is None:
            continue
        if candidate.forum_topic_created is not None:
            return candidate.forum_topic_created.name
        if candidate.forum_topic_edited is not None and candidate.forum_topic_edited.name:
            return candidate.forum_topic_edited.name
    return None
