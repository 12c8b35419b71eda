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
import time
import warnings
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, cast

from redis.exceptions import RedisError
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
from bots.telegram.limits import Limiter
from bots.telegram.render import entities_to_spans, render_parts
from bots.telegram.webhook import WebhookListener, secret_for
from bridge.model import keys
from bridge.model.envelope import Delivery, Envelope, Media, Quoted, Sender
from bridge.model.errors import ServiceUnavailable
from bridge.model.media import MAX_CARRY, MediaStore
from bridge.model.ports import BotContext, Job, PermanentFailure, RetryLater

log = logging.getLogger(__name__)

ANONYMOUS_ADMIN = 1087968824  # GroupAnonymousBot: an admin posting as the group
ALLOWED_UPDATES = ["message", "edited_message", "message_reaction", "my_chat_member"]
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.DOTALL)
RETRACTED = "[retracted]"
ADMINS_TTL_S = 300.0  # how long a chat's admin list is trusted
CAPTION = 1024  # UTF-16 units in a caption
MAX_PHOTO = 10 * 1024 * 1024  # what sendPhoto takes; larger images go as documents
MAX_UPLOAD = 50 * 1024 * 1024  # what a bot may upload at all
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
        self.media = MediaStore(ctx.redis, ctx.media_ttl_s)
        self.chats = {r.chat for r in ctx.rooms}
        self.migrated: dict[str, str] = {}  # configured chat -> the supergroup it became
        self._poller: asyncio.Task[None] | None = None
        self.webhook: WebhookListener | None = None
        if settings.webhook_url:
            secret = secret_for(token)
            self.webhook = WebhookListener(self.id, settings.webhook_url,
                                           settings.webhook_listen, secret)  # fmt: skip
        self._progress: dict[str, list[str]] = {}  # delivery key -> parts sent so far
        self._admins: dict[str, tuple[float, frozenset[int]]] = {}  # chat -> (until, ids)
        self._trouble: str | None = None  # why the bot is not connected, for /healthz
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
        if self.webhook is not None:
            await self._start_webhook(self.webhook)
            return
        await self._call_at_start(self.bot.delete_webhook())  # polling needs no webhook set
        self._poller = asyncio.create_task(self._poll(), name=f"telegram-poll-{self.id}")
        log.info("telegram bot %s (@%s) polling", self.id, self.username)

    async def _start_webhook(self, webhook: WebhookListener) -> None:
        settings = cast(Any, self.ctx.settings)
        await webhook.start(self._take_json)
        try:
            setting = self.bot.set_webhook(
                settings.webhook_url,
                allowed_updates=ALLOWED_UPDATES,
                max_connections=1,
                secret_token=webhook.secret,
            )
            await self._call_at_start(setting)
        except BaseException:
            await webhook.stop()
            raise
        log.info("telegram bot %s (@%s) takes updates by webhook", self.id, self.username)

    async def _call_at_start(self, call: Awaitable[object]) -> None:
        try:
            await call
        except BadRequest as exc:
            raise ServiceUnavailable(f"telegram bot {self.id}: {exc.message}") from None
        except NetworkError as exc:
            raise ServiceUnavailable(
                f"telegram bot {self.id}: the Bot API is unreachable ({exc})"
            ) from None

    async def health(self) -> str | None:
        """None when connected; else why not (for /healthz)."""
        return self._trouble

    async def stop(self) -> None:
        """Stop taking updates in; deliveries still being made go on (see close())."""
        if self.webhook is not None:  # the webhook stays set: Telegram keeps what comes
            await self.webhook.stop()
        poller, self._poller = self._poller, None
        while poller is not None and not poller.done():
            # redis-py can lose a cancellation that lands inside a command: ask again
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(poller), 1.0)

    async def close(self) -> None:
        """Release the HTTP client, once the deliverers are done with it."""
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
                self._trouble = None
            except InvalidToken:
                self._trouble = "Telegram refused the token; the bot stopped"
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
                self._trouble = f"getUpdates failing ({type(exc).__name__})"
                wait = min(0.5 * 2**failures, 30.0)
                log.warning("telegram bot %s: getUpdates failed (%s); retry in %.0f s",
                            self.id, type(exc).__name__, wait)  # fmt: skip
                await asyncio.sleep(wait)
                continue
            try:
                for update in updates:
                    await self._take(update)
                if updates:
                    await self.ctx.redis.set(offset_key, updates[-1].update_id + 1)
            except (RedisError, OSError) as exc:
                # the inbox is away (a Redis restart): the offset stays, Telegram gives the
                # same updates again, and those already in the inbox are recognised there
                failures += 1
                wait = min(0.5 * 2**failures, 30.0)
                log.warning("telegram bot %s: redis failed (%s); updates read again in %.0f s",
                            self.id, exc, wait)  # fmt: skip
                await asyncio.sleep(wait)
                continue
            if updates:
                offset = updates[-1].update_id + 1

    async def _take(self, update: Update) -> None:
        """Into the inbox, if it carries anything; returns once it is stored there."""
        try:
            envelope = await self._envelope(update)
        except Exception:
            log.exception("telegram bot %s: update %d could not be read; skipped",
                          self.id, update.update_id)  # fmt: skip
            return
        if envelope is not None:
            await self.ctx.emit(envelope)

    async def _take_json(self, data: dict[str, object]) -> None:
        update = Update.de_json(data, self.bot)
        if update is not None:
            await self._take(update)

    async def _envelope(self, update: Update) -> Envelope | None:
        key = f"tg:{self.id}:{update.update_id}"
        if update.my_chat_member is not None:
            change = update.my_chat_member
            joined = change.chat
            if change.new_chat_member.status not in ("member", "administrator"):
                return None
            configured = self._configured(str(joined.id))
            if configured is None:
                await self._refuse(joined.id)
                return None
            if change.old_chat_member.status not in ("left", "kicked"):
                return None  # promoted or restricted, not added
            me = Sender(id=f"telegram:{self.bot.id}", name=self.username, is_bot=True)
            return Envelope(key=key, kind="joined", bot=self.id, chat=configured, message_id="",
                            sender=me)  # fmt: skip
        if update.message_reaction is not None:
            r = update.message_reaction
            chat = self._configured(str(r.chat.id))
            emoji = next((getattr(x, "emoji", None) for x in r.new_reaction), None)
            if chat is None or emoji is None:
                return None
            if r.actor_chat is not None and r.actor_chat.id == r.chat.id:  # an anonymous admin
                who, admin = Sender(id=f"telegram:anon:{r.chat.id}", name=r.chat.title or ""), True
            elif r.user is not None:
                who = Sender(id=f"telegram:{r.user.id}", name=r.user.full_name)
                admin = await self._is_admin(chat, r.user.id)
            else:
                return None
            return Envelope(
                key=key, kind="reaction", bot=self.id, chat=chat, message_id=str(r.message_id),
                sender=who, reaction=emoji, admin=admin,
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
        return await self._message_envelope(
            key, chat, message, edit=update.edited_message is not None
        )

    async def _message_envelope(
        self, key: str, chat: str, message: Message, *, edit: bool
    ) -> Envelope | None:
        user = message.from_user
        anonymous_admin = (
            message.sender_chat is not None and message.sender_chat.id == message.chat.id
        )
        if anonymous_admin:
            sender = Sender(id=f"telegram:anon:{message.chat.id}", name=message.chat.title or "")
        elif user is not None:
            sender = Sender(id=f"telegram:{user.id}", name=user.full_name,
                            is_bot=user.is_bot and user.id != ANONYMOUS_ADMIN)  # fmt: skip
        else:
            return None
        text = message.text or message.caption or ""
        entities = message.entities if message.text else message.caption_entities
        spans = entities_to_spans(text, [e.to_dict() for e in entities])
        found = _media_of(message)
        if not text.strip() and found is None:
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
            admin = anonymous_admin or (user is not None and await self._is_admin(chat, user.id))
            quoted = _quoted(reply) if reply_to is not None and reply is not None else None
            return Envelope(
                key=key, kind="command", bot=self.id, chat=chat, topic=topic,
                message_id=str(message.message_id), sender=sender, command=command.group(1).lower(),
                args=(command.group(3) or "").strip(), reply_to=reply_to, admin=admin,
                quoted=quoted,
            )  # fmt: skip
        media = None
        if found is not None:  # an edit changes the caption only: the file is not fetched again
            media = found[0] if edit else await self._fetch(*found)
        return Envelope(
            key=key, kind="edit" if edit else "message", bot=self.id, chat=chat, topic=topic,
            message_id=str(message.message_id), sender=sender, text=text, spans=spans,
            reply_to=reply_to, media=media, ts=message.date.timestamp(),
        )  # fmt: skip

    async def _fetch(self, media: Media, file_id: str | None) -> Media:
        """The file downloaded and stored (images cleaned), or the media with a note."""
        if file_id is None:
            return media
        if media.size > MAX_CARRY:
            return media.model_copy(update={"note": "too large to carry"})
        for attempt in range(3):
            try:
                file = await self.bot.get_file(file_id)
                data = bytes(await file.download_as_bytearray())
            except BadRequest as exc:
                too_big = "too big" in exc.message
                note = "too large to carry" if too_big else "not carried: Telegram refused it"
                return media.model_copy(update={"note": note})
            except (NetworkError, RetryAfter):
                await asyncio.sleep(0.5 * 2**attempt)
                continue
            return await self.media.take(media, data)
        log.warning("telegram bot %s: a file could not be downloaded; a note goes instead",
                    self.id)  # fmt: skip
        return media.model_copy(update={"note": "not carried: download failed"})

    async def _is_admin(self, chat: str, user_id: int) -> bool:
        """Whether the user administers the chat (getChatAdministrators, cached a few
        minutes). When Telegram cannot say, the answer is no: a right is never assumed."""
        now = time.monotonic()
        cached = self._admins.get(chat)
        if cached is None or cached[0] < now:
            target = self.migrated.get(chat, chat)
            try:
                members = await self.bot.get_chat_administrators(chat_id(target))
            except TelegramError as exc:
                log.warning("telegram bot %s: cannot list the admins of chat %s (%s)",
                            self.id, chat, type(exc).__name__)  # fmt: skip
                return False
            cached = (now + ADMINS_TTL_S, frozenset(m.user.id for m in members))
            self._admins[chat] = cached
        return user_id in cached[1]

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
        steps, data = await self._steps(d)
        sent = self._progress.setdefault(d.key, [])
        for i, (kind, html) in enumerate(steps[len(sent) :], start=len(sent)):
            reply = None
            if i == 0 and job.reply_to:
                reply = ReplyParameters(int(job.reply_to), allow_sending_without_reply=True)
            async with self.limiter.slot(chat):
                if kind == "text":
                    message = await self.bot.send_message(
                        chat_id(chat), html, parse_mode=ParseMode.HTML,
                        message_thread_id=d.topic, reply_parameters=reply,
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                    )  # fmt: skip
                else:
                    assert data is not None
                    message = await self._send_file(chat, d, data, kind, html or None, reply)
            sent.append(str(message.message_id))
        if d.pin and sent:
            await self._pin(chat, sent[0])
        return self._progress.pop(d.key)

    async def _pin(self, chat: str, message_id: str) -> None:
        """Pin a copy (a call-out's); without the right to, the copy stays unpinned."""
        try:
            await self.bot.pin_chat_message(chat_id(chat), int(message_id))
        except (BadRequest, Forbidden) as exc:
            log.warning("telegram bot %s: could not pin in chat %s (%s); give it the right to "
                        "pin messages", self.id, chat, exc.message)  # fmt: skip

    async def _steps(self, d: Delivery) -> tuple[list[tuple[str, str]], bytes | None]:
        """What to send, in order: ("text", html) parts, and the file as (method, caption).

        The file goes with the text as its caption when that fits (a sticker takes none);
        otherwise the text goes first and the file after it. A file Telegram cannot take
        becomes an honest note at the end of the text.
        """
        media = d.media
        data = await self.media.get(media.blob) if media is not None and media.blob else None
        method = _method_for(media, len(data)) if media is not None and data is not None else None
        if media is not None and method is None:
            reason = ""
            if media.blob:
                reason = "too large to carry" if data is not None else "expired, not carried"
            note = media.describe(reason)
            d = d.model_copy(update={"text": f"{d.text}\n{note}" if d.text else note})
        texts = [("text", html) for html in render_parts(d)]
        if method is None:
            return texts, None
        if method != "sticker":
            caption = render_parts(d, CAPTION)
            if len(caption) == 1:
                return [(method, caption[0])], data
        return [*texts, (method, "")], data

    async def _send_file(
        self,
        chat: str,
        d: Delivery,
        data: bytes,
        method: str,
        caption: str | None,
        reply: ReplyParameters | None,
    ) -> Message:
        media = d.media
        assert media is not None
        common: dict[str, Any] = {
            "chat_id": chat_id(chat), "message_thread_id": d.topic, "reply_parameters": reply,
        }  # fmt: skip
        if method == "sticker":
            return await self.bot.send_sticker(sticker=data, **common)
        common |= {"caption": caption, "parse_mode": ParseMode.HTML if caption else None}
        name = media.name or _default_name(media)
        if method == "photo":
            return await self.bot.send_photo(photo=data, filename=name, **common)
        if method == "voice":
            return await self.bot.send_voice(voice=data, filename=name, **common)
        return await self.bot.send_document(document=data, filename=name, **common)

    async def _edit(self, job: Job, chat: str) -> list[str]:
        d = job.delivery
        copies = list(job.copies)
        file_part = None
        if d.media is not None and len(copies) > 1:  # the text went first, the file after it
            file_part = copies.pop()
        parts = render_parts(d)
        for copy_id, html in zip(copies, parts, strict=False):
            async with self.limiter.slot(chat):
                try:
                    await self._edit_text(chat, copy_id, html)
                except BadRequest as exc:
                    if "no text in the message" in exc.message:  # a file with its caption
                        await self._edit_caption(chat, copy_id, render_parts(d, CAPTION)[0])
                    elif "not modified" not in exc.message and "not found" not in exc.message:
                        raise
        for extra in copies[len(parts) :]:  # the edit is shorter: fewer parts remain
            with contextlib.suppress(BadRequest):
                await self.bot.delete_message(chat_id(chat), int(extra))
        kept = copies[: len(parts)]
        return [*kept, file_part] if file_part else kept

    async def _edit_text(self, chat: str, copy_id: str, html: str) -> None:
        await self.bot.edit_message_text(
            html,
            chat_id=chat_id(chat),
            message_id=int(copy_id),
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )

    async def _edit_caption(self, chat: str, copy_id: str, html: str) -> None:
        try:
            await self.bot.edit_message_caption(
                chat_id=chat_id(chat), message_id=int(copy_id), caption=html,
                parse_mode=ParseMode.HTML,
            )  # fmt: skip
        except BadRequest as exc:
            if "not modified" not in exc.message:
                raise

    async def _delete(self, job: Job, chat: str) -> None:
        for copy_id in job.copies:
            try:
                await self.bot.delete_message(chat_id(chat), int(copy_id))
            except BadRequest as exc:
                if "not found" in exc.message:
                    continue
                # older than 48 hours: a bot can no longer delete it, so it blanks it
                async with self.limiter.slot(chat):
                    try:
                        await self.bot.edit_message_text(
                            RETRACTED, chat_id=chat_id(chat), message_id=int(copy_id)
                        )
                    except BadRequest as again:
                        if "no text in the message" in again.message:
                            with contextlib.suppress(BadRequest):
                                await self._edit_caption(chat, copy_id, RETRACTED)


def _quoted(reply: Message) -> Quoted | None:
    """The replied-to message as Telegram shows it with a reply (its text, not its files)."""
    text = reply.text or reply.caption or ""
    if not text or reply.from_user is None:
        return None
    entities = reply.entities if reply.text else reply.caption_entities
    user = reply.from_user
    return Quoted(
        message_id=str(reply.message_id),
        sender=Sender(id=f"telegram:{user.id}", name=user.full_name, is_bot=user.is_bot),
        text=text,
        spans=entities_to_spans(text, [e.to_dict() for e in entities]),
        ts=reply.date.timestamp(),
    )


def _media_of(message: Message) -> tuple[Media, str | None] | None:
    """What a message carries besides text, and the file to fetch (None: not carried)."""
    if message.photo:
        p = message.photo[-1]  # the largest size
        photo = Media(kind="photo", mime="image/jpeg", width=p.width, height=p.height,
                      size=p.file_size or 0)  # fmt: skip
        return photo, p.file_id
    if message.sticker:
        s = message.sticker
        if s.is_animated or s.is_video:
            return Media(kind="sticker", emoji=s.emoji or "", note="animated, not carried"), None
        sticker = Media(kind="sticker", mime="image/webp", emoji=s.emoji or "", width=s.width,
                        height=s.height, size=s.file_size or 0)  # fmt: skip
        return sticker, s.file_id
    if message.voice:
        v = message.voice
        return Media(kind="voice", mime=v.mime_type or "audio/ogg", size=v.file_size or 0), (
            v.file_id
        )
    for kind, attr in (("video", "animation"), ("video", "video"), ("video", "video_note"),
                       ("audio", "audio")):  # fmt: skip
        found = getattr(message, attr, None)
        if found:
            size = getattr(found, "file_size", None) or 0
            return Media(kind=cast(Any, kind), size=size, note="not carried"), None
    if message.document:
        doc = message.document
        return Media(kind="file", name=doc.file_name or "", mime=doc.mime_type or "",
                     size=doc.file_size or 0), doc.file_id  # fmt: skip
    return None


def _method_for(media: Media, size: int) -> str | None:
    """How Telegram takes this file: photo, sticker, voice or document; None: it cannot."""
    if size > MAX_UPLOAD:
        return None
    image = media.mime in ("image/jpeg", "image/png", "image/webp")
    if media.kind == "sticker" and media.mime == "image/webp" and size <= 512 * 1024:
        return "sticker"
    if media.kind in ("photo", "sticker") and image and size <= MAX_PHOTO:
        return "photo"
    if media.kind == "voice" and media.mime in ("audio/ogg", "audio/opus"):
        return "voice"
    return "document"


def _default_name(media: Media) -> str:
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
           "audio/ogg": "ogg", "application/pdf": "pdf"}.get(media.mime, "bin")  # fmt: skip
    return f"{media.kind}.{ext}"
