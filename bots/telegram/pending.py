"""Telegram chats that added the bot without being configured or linked: kept pending.

A group that adds the bot (``my_chat_member``) and is neither configured nor linked waits
``PENDING_WINDOW_S`` for an admin's ``/link CODE <language> <label> [timezone]``: the bot says
so once (in English, and in the adder's app language too when the bridge has a catalog for
it), carries nothing from the chat, and leaves when the window passes (``sweep``). Past
the places a chat may wait in (``PendingChats.add``: the bot's, its adder's) it says so and
leaves at once; with invites off (``ctx.pending_limit`` 0) it says it is not configured and
leaves, as before issue 18; so it does in a chat that was never added as pending.

In a pending chat the one thing read is ``/link`` (or ``/link@thisbot``): it becomes a
``LinkRequest`` (the sender an admin when getChatMember says creator or administrator, or
when an anonymous admin posts as the group), the bridge's answer is said in the chat by the
bot itself, and a linked chat is served at once (``on_linked``), without waiting for the
watcher of linked rooms. Nothing else of a pending chat is looked at: no file is fetched, no
envelope made.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable
from typing import Protocol

from telegram import Bot, ChatMemberUpdated, Message, User
from telegram.error import TelegramError

from bots.telegram.settings import TelegramSettings
from bridge.model import keys
from bridge.model.i18n import Message as Text
from bridge.model.i18n import has_catalog, render
from bridge.model.links import TOO_MANY_WAITING, LinkRequest, PendingChats, waiting_text
from bridge.model.ports import BotContext
from bridge.model.settings import RoomConfig

log = logging.getLogger(__name__)

_LINK = re.compile(r"^/link(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.DOTALL | re.IGNORECASE)
ADMIN_STATUSES = ("creator", "administrator")
WAITING = waiting_text("/link CODE <language> <label> [timezone]", "/invite")


class Refuse(Protocol):
    """Leave a chat, saying why once an hour (``bots.telegram.ingest.Reader._refuse``)."""

    async def __call__(self, chat: int, said: str = ..., why: str = ...) -> None: ...


def _for(adder: User, text: Text) -> str:
    """``text`` in the adder's app language first, then English for everyone else."""
    language = _language(adder)
    said = render(text, "en")
    return said if language == "en" else f"{render(text, language)}\n\n{said}"


class Pending:
    """One Telegram bot's pending chats: the once-said text, ``/link``, and the sweep."""

    def __init__(
        self,
        bot: Bot,
        ctx: BotContext[TelegramSettings],
        refuse: Refuse,
        on_linked: Callable[[RoomConfig], None],
    ) -> None:
        self.bot = bot
        self.ctx = ctx
        self.id = ctx.settings.id
        self.chats = PendingChats(ctx.redis, self.id, ctx.clock, limit=ctx.pending_limit)
        self.refuse = refuse  # leaves; says why ("not configured", else ``said``) once an hour
        self.on_linked = on_linked

    async def added(self, change: ChatMemberUpdated) -> None:
        """The bot is in a chat it does not serve: keep it pending, or leave at once."""
        chat = change.chat.id
        if change.chat.type not in ("group", "supergroup"):  # a private chat, a channel
            await self.refuse(chat)
            return
        if await self._known(str(chat)):
            return  # added again within its window: no new window, nothing said again
        if self.ctx.pending_limit <= 0:
            await self.refuse(chat)
            return
        if not await self.chats.add(str(chat), f"telegram:{change.from_user.id}"):
            await self.refuse(
                chat,
                _for(change.from_user, TOO_MANY_WAITING),
                "too many chats wait for a link already (from that user, or in all)",
            )
            return
        log.info("telegram bot %s: added to chat %s, which is not configured or linked; it "
                 "waits for a link", self.id, chat)  # fmt: skip
        with contextlib.suppress(TelegramError):
            await self.bot.send_message(chat, _for(change.from_user, WAITING))

    async def message(self, message: Message) -> None:
        """A message (not an edit) in a chat the bot does not serve: ``/link`` in a pending
        chat goes to the bridge; anything else there is ignored; elsewhere, refused."""
        chat = message.chat.id
        if not await self.chats.waiting(str(chat)):
            if message.chat.type in ("group", "supergroup") and not message.migrate_from_chat_id:
                await self.refuse(chat)
                await self.chats.done(str(chat))  # a window passed and not swept yet
            return
        found = _LINK.match(message.text or "")
        if found is None:
            return
        target = found.group(1)
        if target and target.lower() != (self.bot.username or "").lower():
            return  # a /link for another bot
        user = message.from_user
        anonymous = message.sender_chat is not None and message.sender_chat.id == chat
        if user is None and not anonymous:
            return
        sender = f"telegram:anon:{chat}" if anonymous or user is None else f"telegram:{user.id}"
        if not await self.chats.attempt(str(chat), sender):
            return  # a flood: no lookup, no answer (``LINK_TRIES``)
        if anonymous or user is None:  # an anonymous admin speaks as the group
            name, admin = message.chat.title or "", True
        else:
            name = user.full_name
            admin = await self._admin(chat, user.id)
        hint = (user.language_code or "") if user is not None else ""
        request = LinkRequest(bot=self.id, chat=str(chat), sender=sender, name=name, admin=admin,
                              args=(found.group(2) or "").strip(), hint=hint)  # fmt: skip
        answer = await self.ctx.link(request)
        with contextlib.suppress(TelegramError):
            await self.bot.send_message(chat, render(answer.text, answer.language))
        if answer.room is not None:
            self.on_linked(answer.room)  # served from now on, before the watcher says so
            await self.chats.done(str(chat))
            log.info("telegram bot %s: chat %s was linked as room %s", self.id, chat,
                     answer.room.id)  # fmt: skip

    async def sweep(self) -> None:
        """Leave the chats whose window has passed, every ``ctx.pending_sweep_s``, until
        cancelled (``PendingChats.sweep``: a failed round is logged, the next one tries)."""
        await self.chats.sweep(self._leave, self.ctx.pending_sweep_s, self._sweep_failed)

    async def _leave(self, chat: str) -> None:
        with contextlib.suppress(TelegramError):  # gone or kicked already; else not retried
            await self.bot.leave_chat(int(chat))
        log.info("telegram bot %s: nobody linked chat %s in time; left it", self.id, chat)

    def _sweep_failed(self, exc: Exception) -> None:
        log.warning("telegram bot %s: sweeping pending chats failed (%s)", self.id,
                    type(exc).__name__)  # fmt: skip

    async def _known(self, chat: str) -> bool:
        return await self.ctx.redis.zscore(keys.pending_chats(self.id), chat) is not None

    async def _admin(self, chat: int, user_id: int) -> bool:
        """Whether Telegram says the user administers the chat; no when it cannot say."""
        try:
            member = await self.bot.get_chat_member(chat, user_id)
        except TelegramError as exc:
            log.warning("telegram bot %s: cannot ask who administers chat %s (%s)",
                        self.id, chat, type(exc).__name__)  # fmt: skip
            return False
        return member.status in ADMIN_STATUSES


def _language(user: User | None) -> str:
    """The user's app language when the bridge has its texts in it; else English."""
    code = ((user.language_code if user is not None else None) or "").split("-")[0].lower()
    return code if code and has_catalog(code) else "en"
