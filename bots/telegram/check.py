"""`translocal check` for Telegram rooms: is the bot there, may it post, does it read all?"""

from __future__ import annotations

import contextlib

from telegram import Bot
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError

from bots.telegram.settings import TelegramSettings, chat_id
from bridge.model.platforms import RoomCheck
from bridge.model.settings import RoomConfig

PRIVACY_FIX = (
    "privacy mode is on, so the bot sees only commands: in @BotFather send /setprivacy, "
    "choose the bot, then Disable (or make the bot an admin of the group)"
)


async def check_rooms(settings: TelegramSettings, rooms: list[RoomConfig]) -> list[RoomCheck]:
    bot = Bot(
        settings.token.get_secret_value(),
        base_url=f"{settings.api_url}/bot",
        base_file_url=f"{settings.api_url}/file/bot",
    )
    try:  # shut down whatever happens: a refused token leaves open connections otherwise
        try:
            await bot.initialize()
        except InvalidToken:
            return [RoomCheck(r.id, False, "the Bot API refused the token: get one from "
                              "@BotFather") for r in rooms]  # fmt: skip
        except NetworkError as exc:
            return [RoomCheck(r.id, False, f"the Bot API is unreachable ({type(exc).__name__})")
                    for r in rooms]  # fmt: skip
        reads_all = bool(bot.bot.can_read_all_group_messages)
        return [await _room(bot, r, reads_all) for r in rooms]
    finally:
        with contextlib.suppress(TelegramError):
            await bot.shutdown()


async def _room(bot: Bot, room: RoomConfig, reads_all: bool) -> RoomCheck:
    chat = chat_id(room.chat)
    try:
        info = await bot.get_chat(chat)
        member = await bot.get_chat_member(chat, bot.id)
    except (BadRequest, Forbidden) as exc:
        return RoomCheck(
            room.id, False, f"the bot is not in chat {room.chat} ({exc.message}): add it"
        )
    status = str(member.status)
    if status in ("left", "kicked"):
        return RoomCheck(room.id, False, f"the bot is {status} from chat {room.chat}: add it again")
    admin = status in ("administrator", "creator")
    if status == "restricted" and not getattr(member, "can_send_messages", False):
        return RoomCheck(room.id, False, "the bot may not post there: lift its restriction")
    if not (reads_all or admin):
        return RoomCheck(room.id, False, PRIVACY_FIX)
    if room.topic is not None:
        if not info.is_forum:
            return RoomCheck(
                room.id, False, f"chat {room.chat} has no topics, but topic {room.topic} is set"
            )
        try:
            await bot.send_chat_action(chat, ChatAction.TYPING, message_thread_id=room.topic)
        except BadRequest as exc:
            return RoomCheck(room.id, False, f"topic {room.topic}: {exc.message}")
    rights = "admin" if admin else "member"
    reading = "reads all messages" if reads_all else "reads all messages as an admin"
    where = f", topic {room.topic}" if room.topic is not None else ""
    found = f"telegram {room.chat}{where}: {rights}, can post, {reading}"
    if not admin:  # Telegram sends message_reaction updates to admin bots only
        found += (
            "; reactions do not reach it, so RSVP answers by ✊/🤔 (call-outs with rsvp: true) "
            "and share reactions are not counted here: make the bot an admin of the group"
        )
    return RoomCheck(room.id, True, found)
