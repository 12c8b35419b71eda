"""Deliveries into Telegram chats: texts, files, edits, deletes and pins, paced within limits.

``Sender.deliver`` carries out one job and returns the message ids of the parts sent or
edited; Telegram's errors become the bridge's: a 429 is ``RetryLater`` for exactly the
``retry_after`` it gave (and the chat's pacing holds that long); a timeout or a network error
is ``RetryLater`` with backoff; a refusal (forbidden, a bad request, a revoked token) is
``PermanentFailure``.

Telegram has no idempotency key, so a send is never repeated once it succeeded: the parts of
a long delivery already sent are remembered until the whole delivery is, and a retry goes on
from the first part not sent. Texts are HTML (user content escaped, see render.py), split at
4096 UTF-16 units; a file goes with its text as caption when that fits in 1024 units, else
after it. Video goes as a video (a video note too: a bot cannot make a round one), an
animation as an animation, MP3/M4A audio in the player (sendAudio), other audio and files as
documents; beyond what Telegram takes, an honest note. A carried location goes after the text
(a location takes no caption), as a venue when it has a title and an address. A copy that can
no longer be deleted (older than 48 hours) is blanked to "[retracted]". A call-out asking to
be pinned is pinned when the bot has the right to.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from dataclasses import replace
from datetime import timedelta
from typing import Any

from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.warnings import PTBDeprecationWarning

from bots.telegram.ids import inward, outward
from bots.telegram.limits import Limiter
from bots.telegram.polls import send_poll
from bots.telegram.render import render_parts
from bots.telegram.settings import chat_id
from bridge.model import media_note
from bridge.model.envelope import Delivery, Media
from bridge.model.i18n import _, render
from bridge.model.media import MediaStore
from bridge.model.ports import Job, PermanentFailure, RetryLater

log = logging.getLogger(__name__)

RETRACTED = _("[retracted]")  # in the room's language (the delivery's)
CAPTION = 1024  # UTF-16 units in a caption
MAX_PHOTO = 10 * 1024 * 1024  # what sendPhoto takes; larger images go as documents
MAX_UPLOAD = 50 * 1024 * 1024  # what a bot may upload at all
_AUDIO = ("audio/mpeg", "audio/mp3", "audio/mp4", "audio/x-m4a", "audio/m4a", "audio/aac")


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the type will change; read it either way
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | float | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Sender:
    """One bot's deliveries (not the envelope's sender: the bot sending copies)."""

    def __init__(self, bot: Bot, bot_id: str, media: MediaStore, limiter: Limiter) -> None:
        self.bot = bot
        self.id = bot_id
        self.media = media
        self.limiter = limiter
        self._progress: dict[str, list[str]] = {}  # delivery key -> parts sent so far

    async def deliver(self, job: Job, chat: str) -> list[str]:
        """Send, edit or delete one copy in ``chat`` (where the delivery's chat is now). Ids
        go in and out as the bridge knows them (bots.telegram.ids): in a room that moved to
        a supergroup, only the new chat's ids are acted on there."""
        moved = chat != job.delivery.chat
        here = [i for i in (inward(c, moved) for c in job.copies) if i is not None]
        reply = inward(job.reply_to, moved) if job.reply_to else None
        local = replace(job, copies=tuple(str(i) for i in here),
                        reply_to=str(reply) if reply is not None else None)  # fmt: skip
        if job.delivery.action != "send" and job.copies and not here:
            return []  # only copies in the old group, which nobody can touch any more
        return [outward(int(i), moved) for i in await self._deliver(local, chat)]

    async def _deliver(self, job: Job, chat: str) -> list[str]:
        d = job.delivery
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
        if d.poll is not None and not self._progress.get(d.key):  # else: the list goes
            reply = ReplyParameters(int(job.reply_to), allow_sending_without_reply=True) \
                if job.reply_to else None  # fmt: skip
            async with self.limiter.slot(chat):
                native = await send_poll(self.bot, self.media.redis, self.id, chat, d, reply)
            if native is not None:
                return [str(native.message_id)]
        steps, data = await self._steps(d)
        sent = self._progress.setdefault(d.key, [])
        for i, (kind, html) in enumerate(steps[len(sent) :], start=len(sent)):
            reply = None
            if i == 0 and job.reply_to:
                reply = ReplyParameters(int(job.reply_to), allow_sending_without_reply=True)
            async with self.limiter.slot(chat):
                if kind == "location":
                    message = await self._send_location(chat, d, reply)
                elif kind == "text":
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
            reason = ""  # no file came in: the media's own note says why
            if media.blob:
                reason = media_note.TOO_LARGE if data is not None else media_note.EXPIRED
            note = media.describe(reason, d.language or "en")
            d = d.model_copy(update={"text": f"{d.text}\n{note}" if d.text else note})
        texts = [("text", html) for html in render_parts(d)]
        if d.location is not None:  # a location takes no caption: the text goes first
            return [*texts, ("location", "")], None
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
        if method in ("video", "animation", "audio"):
            common |= {"duration": media.duration, "filename": name, method: data}
            if method != "audio":
                common |= {"width": media.width, "height": media.height}
            if method == "video":
                return await self.bot.send_video(**common)
            if method == "animation":
                return await self.bot.send_animation(**common)
            return await self.bot.send_audio(**common)
        return await self.bot.send_document(document=data, filename=name, **common)

    async def _send_location(
        self, chat: str, d: Delivery, reply: ReplyParameters | None
    ) -> Message:
        """A carried location: a venue when it has a title and an address, else a point."""
        place = d.location
        assert place is not None
        common: dict[str, Any] = {
            "chat_id": chat_id(chat), "latitude": place.latitude, "longitude": place.longitude,
            "message_thread_id": d.topic, "reply_parameters": reply,
        }  # fmt: skip
        if place.title and place.address:
            return await self.bot.send_venue(title=place.title, address=place.address, **common)
        return await self.bot.send_location(**common)

    async def _edit(self, job: Job, chat: str) -> list[str]:
        d = job.delivery
        copies = list(job.copies)
        file_part = None
        if (d.media or d.location) is not None and len(copies) > 1:  # the file after the text
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
                blank = render(RETRACTED, job.delivery.language or "en")
                async with self.limiter.slot(chat):
                    try:
                        await self.bot.edit_message_text(
                            blank, chat_id=chat_id(chat), message_id=int(copy_id)
                        )
                    except BadRequest as again:
                        if "no text in the message" in again.message:
                            with contextlib.suppress(BadRequest):
                                await self._edit_caption(chat, copy_id, blank)


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
    if media.kind in ("video", "animation") and media.mime == "video/mp4":
        return media.kind  # a video note crosses as a video: a bot cannot make one round
    if media.kind == "animation" and media.mime == "image/gif":
        return "animation"
    if media.kind in ("audio", "voice") and media.mime in _AUDIO:
        return "audio"  # sendAudio plays MP3 and M4A; other audio goes as a document
    return "document"


def _default_name(media: Media) -> str:
    ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
           "audio/ogg": "ogg", "application/pdf": "pdf", "video/mp4": "mp4", "audio/mpeg": "mp3",
           "audio/mp4": "m4a"}.get(media.mime, "bin")  # fmt: skip
    return f"{media.kind}.{ext}"
