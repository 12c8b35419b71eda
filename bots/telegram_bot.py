"""The Telegram bot: python-telegram-bot 22 inside translocal's own loop, no Updater.

- Updates come from our own get_updates loop. The offset lives in Redis and advances only
  after the update's envelope is in the inbox: a crash re-reads, and the relay's idempotency
  (the envelope key is the update id) absorbs the repeat.
- Deliveries are rendered as HTML (user content escaped), split at 4096 UTF-16 units, paced
  within Telegram's limits; a 429 is waited out exactly as told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import warnings
from datetime import timedelta
from typing import Any, cast

from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bots.telegram import chat_id
from bots.telegram_limits import Limiter
from bots.telegram_render import entities_to_spans, render_parts
from bridge import keys
from bridge.envelope import Envelope, Sender
from bridge.errors import ServiceUnavailable
from bridge.ports import BotContext, Job, PermanentFailure, RetryLater

log = logging.getLogger(__name__)

ANONYMOUS_ADMIN = 1087968824  # GroupAnonymousBot: an admin posting as the group
ALLOWED_UPDATES = ["message", "edited_message", "message_reaction", "my_chat_member"]
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.DOTALL)
RETRACTED = "[retracted]"
NOT_CONFIGURED = (
    "This bot is not configured for this chat, so nothing from here is carried anywhere. "
    "It is leaving now."
)


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the type will change; read it either way
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | float | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramBot:
    def __init__(self, ctx: BotContext, *, poll_timeout: int = 20, scale: float = 1.0) -> None:
        settings = cast(Any, ctx.settings)
        self.id = settings.id
        self.ctx = ctx
        self.poll_timeout = poll_timeout
        base = settings.api_url
        token = settings.token.get_secret_value()
        self.bot = Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=HTTPXRequest(connection_pool_size=32, read_timeout=30, write_timeout=30),
            get_updates_request=HTTPXRequest(read_timeout=poll_timeout + 10),
        )
        self.limiter = Limiter(scale)
        self.chats = {r.chat for r in ctx.rooms}
        self.migrated: dict[str, str] = {}  # configured chat -> the supergroup it became
        self._poller: asyncio.Task[None] | None = None
        self._progress: dict[str, list[str]] = {}  # delivery key -> parts sent so far
        self.username = ""

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.bot.initialize()
        except InvalidToken:
            raise ServiceUnavailable(
                f"telegram bot {self.id}: the Bot API refused its token"
            ) from None
        except NetworkError as exc:
            raise ServiceUnavailable(
                f"telegram bot {self.id}: the Bot API is unreachable ({exc})"
            ) from None
        self.username = self.bot.username or ""
        raw = await self.ctx.redis.hgetall(keys.bot_state(self.id, "migrated"))
        self.migrated = {str(k): str(v) for k, v in raw.items()}
        self._poller = asyncio.create_task(self._poll(), name=f"telegram-poll-{self.id}")
        log.info("telegram bot %s (@%s) polling", self.id, self.username)

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        with contextlib.suppress(TelegramError):
            await self.bot.shutdown()

    # ---- ingest ------------------------------------------------------------------------

    async def _poll(self) -> None:
        offset_key = keys.bot_state(self.id, "offset")
        offset = int(await self.ctx.redis.get(offset_key) or 0)
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES
                )
                failures = 0
            except InvalidToken:
                log.error(  # noqa: TRY400 - the one line says it all
                    "telegram bot %s: the token was revoked; this bot stops", self.id
                )
                await self.ctx.notice(
                    f"Telegram bot {self.id} stopped: Telegram refused its token (revoked?). "
                    "Nothing crosses into or out of its rooms until bots[].token is updated "
                    "and translocal restarted. The other bots go on."
                )
                return
            except (NetworkError, TelegramError) as exc:
                failures += 1
                wait = min(0.5 * 2**failures, 30.0)
                log.warning("telegram bot %s: getUpdates failed (%s); retry in %.0f s",
                            self.id, type(exc).__name__, wait)  # fmt: skip
                await asyncio.sleep(wait)
                continue
            for update in updates:
                try:
                    envelope = await self._envelope(update)
                except Exception:
                    log.exception("telegram bot %s: update %d could not be read; skipped",
                                  self.id, update.update_id)  # fmt: skip
                    envelope = None
                if envelope is not None:
                    await self.ctx.emit(envelope)
            if updates:
                offset = updates[-1].update_id + 1
                await self.ctx.redis.set(offset_key, offset)  # only once the inbox has them

    async def _envelope(self, update: Update) -> Envelope | None:
        key = f"tg:{self.id}:{update.update_id}"
        if update.my_chat_member is not None:
            joined = update.my_chat_member.chat
            status = update.my_chat_member.new_chat_member.status
            if status in ("member", "administrator") and not self._configured(str(joined.id)):
                await self._refuse(joined.id)
            return None
        if update.message_reaction is not None:
            r = update.message_reaction
            chat = self._configured(str(r.chat.id))
            emoji = next((getattr(x, "emoji", None) for x in r.new_reaction), None)
            if chat is None or emoji is None or r.user is None:
                return None
            return Envelope(
                key=key, kind="reaction", bot=self.id, chat=chat, message_id=str(r.message_id),
                sender=Sender(id=f"telegram:{r.user.id}", name=r.user.full_name), reaction=emoji,
            )  # fmt: skip
        message = update.message or update.edited_message
        if message is None:
            return None
        if message.migrate_to_chat_id is not None:
            await self._migrated(str(message.chat.id), str(message.migrate_to_chat_id))
            return None
        chat = self._configured(str(message.chat.id))
        if chat is None:
            if message.chat.type in ("group", "supergroup") and not message.migrate_from_chat_id:
                await self._refuse(message.chat.id)
            return None
        return self._message_envelope(key, chat, message, edit=update.edited_message is not None)

    def _message_envelope(
        self, key: str, chat: str, message: Message, *, edit: bool
    ) -> Envelope | None:
        user = message.from_user
        if message.sender_chat is not None and message.sender_chat.id == message.chat.id:
            sender = Sender(id=f"telegram:anon:{message.chat.id}", name=message.chat.title or "")
        elif user is not None:
            sender = Sender(id=f"telegram:{user.id}", name=user.full_name,
                            is_bot=user.is_bot and user.id != ANONYMOUS_ADMIN)  # fmt: skip
        else:
            return None
        text = message.text or message.caption or ""
        entities = message.entities if message.text else message.caption_entities
        spans = entities_to_spans(text, [e.to_dict() for e in entities])
        note = _media_note(message)
        if note:
            text = f"{text}\n{note}" if text else note
        if not text.strip():
            return None  # a service message (someone joined, a pin, a new topic): nothing to carry
        topic = message.message_thread_id if message.is_topic_message else None
        reply = message.reply_to_message
        reply_to = None
        if reply is not None and not (topic is not None and reply.message_id == topic):
            reply_to = str(reply.message_id)
        command = _COMMAND.match(message.text or "") if not edit else None
        if command is not None:
            target = command.group(2)
            if target and target.lower() != self.username.lower():
                return None  # a command for another bot
            return Envelope(
                key=key, kind="command", bot=self.id, chat=chat, topic=topic,
                message_id=str(message.message_id), sender=sender, command=command.group(1).lower(),
                args=(command.group(3) or "").strip(), reply_to=reply_to,
            )  # fmt: skip
        return Envelope(
            key=key, kind="edit" if edit else "message", bot=self.id, chat=chat, topic=topic,
            message_id=str(message.message_id), sender=sender, text=text, spans=spans,
            reply_to=reply_to, ts=message.date.timestamp(),
        )  # fmt: skip

    def _configured(self, chat: str) -> str | None:
        """The configured chat id that ``chat`` is (itself, or a group it migrated from)."""
        if chat in self.chats:
            return chat
        for old, new in self.migrated.items():
            if new == chat:
                return old
        return None

    async def _migrated(self, old: str, new: str) -> None:
        if old not in self.chats:
            return
        self.migrated[old] = new
        await self.ctx.redis.hset(keys.bot_state(self.id, "migrated"), old, new)
        log.warning("telegram bot %s: chat %s became supergroup %s; it is followed, but set "
                    "its rooms[].chat to %s in the config", self.id, old, new, new)  # fmt: skip
        await self.ctx.notice(
            f"Telegram group {old} became supergroup {new}. Translocal follows it; "
            f"set rooms[].chat to {new} in the config before the next restart."
        )

    async def _refuse(self, chat_id: int) -> None:
        """Say once that this chat is not configured, and leave it."""
        if not await self.ctx.redis.set(
            keys.bot_state(self.id, f"refused:{chat_id}"), 1, nx=True, ex=3600
        ):
            return
        log.warning("telegram bot %s: added to chat %s, which is not in the config; leaving",
                    self.id, chat_id)  # fmt: skip
        with contextlib.suppress(TelegramError):
            await self.bot.send_message(chat_id, NOT_CONFIGURED)
        with contextlib.suppress(TelegramError):
            await self.bot.leave_chat(chat_id)

    # ---- delivery ----------------------------------------------------------------------

    async def deliver(self, job: Job) -> list[str]:
        d = job.delivery
        chat = self.migrated.get(d.chat, d.chat)
        try:
            if d.action == "send":
                return await self._send(job, chat)
            if d.action == "edit":
                return await self._edit(job, chat)
            await self._delete(job, chat)
        except RetryAfter as exc:
            seconds = _retry_seconds(exc)
            self.limiter.hold(chat, seconds)
            raise RetryLater(seconds, f"telegram asked to wait {seconds:.0f} s") from None
        except TimedOut:
            raise RetryLater(1.0, "telegram timed out", backoff=True) from None
        except Forbidden as exc:
            raise PermanentFailure(f"telegram refused: {exc.message}") from None
        except InvalidToken:
            raise PermanentFailure("telegram refused the bot's token") from None
        except BadRequest as exc:
            raise PermanentFailure(f"telegram: {exc.message}") from None
        except NetworkError as exc:
            raise RetryLater(1.0, f"telegram: {type(exc).__name__}", backoff=True) from None
        return []

    async def _send(self, job: Job, chat: str) -> list[str]:
        d = job.delivery
        parts = render_parts(d)
        sent = self._progress.setdefault(d.key, [])
        for i, html in enumerate(parts[len(sent) :], start=len(sent)):
            await self.limiter.acquire(chat)
            reply = None
            if i == 0 and job.reply_to:
                reply = ReplyParameters(int(job.reply_to), allow_sending_without_reply=True)
            message = await self.bot.send_message(
                chat_id(chat), html, parse_mode=ParseMode.HTML, message_thread_id=d.topic,
                reply_parameters=reply, link_preview_options=LinkPreviewOptions(is_disabled=True),
            )  # fmt: skip
            sent.append(str(message.message_id))
        return self._progress.pop(d.key)

    async def _edit(self, job: Job, chat: str) -> list[str]:
        parts = render_parts(job.delivery)
        for copy_id, html in zip(job.copies, parts, strict=False):
            await self.limiter.acquire(chat)
            try:
                await self.bot.edit_message_text(
                    html,
                    chat_id=chat_id(chat),
                    message_id=int(copy_id),
                    parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except BadRequest as exc:
                if "not modified" not in exc.message and "not found" not in exc.message:
                    raise
        for extra in job.copies[len(parts) :]:  # the edit is shorter: fewer parts remain
            with contextlib.suppress(BadRequest):
                await self.bot.delete_message(chat_id(chat), int(extra))
        return list(job.copies[: len(parts)])

    async def _delete(self, job: Job, chat: str) -> None:
        for copy_id in job.copies:
            try:
                await self.bot.delete_message(chat_id(chat), int(copy_id))
            except BadRequest as exc:
                if "not found" in exc.message:
                    continue
                # older than 48 hours: a bot can no longer delete it, so it blanks it
                await self.limiter.acquire(chat)
                with contextlib.suppress(BadRequest):
                    await self.bot.edit_message_text(
                        RETRACTED, chat_id=chat_id(chat), message_id=int(copy_id)
                    )


def _media_note(message: Message) -> str:
    """What a message carries besides text, as an honest note (media are not carried yet)."""
    for kind, attr in (("photo", "photo"), ("document", "document"), ("voice message", "voice"),
                       ("sticker", "sticker"), ("video", "video"), ("audio", "audio")):  # fmt: skip
        if getattr(message, attr, None):
            return f"[{kind}: not carried]"
    return ""
