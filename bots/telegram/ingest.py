"""Telegram updates in, envelopes out: which configured room an update is from, and what it says.

``Reader.envelope`` turns one python-telegram-bot ``Update`` into the bridge's ``Envelope``, or
None when it carries nothing to carry (a service message, a command for another bot, a chat
that is not configured). On the way it acts where Telegram leaves it to the bot:

- a group that adds the bot and is neither configured nor linked waits for an admin's
  ``/link`` (bots/telegram/pending.py); any other chat not served is told once that the bot
  is not configured there, and left; nothing of either crosses;
- a group that becomes a supergroup (``migrate_to_chat_id``) is followed, remembered in Redis,
  and the operator is told to update the config;
- an anonymous admin (``sender_chat`` set to the group itself) speaks as a moderator of that
  group; any other sender's rights come from getChatAdministrators, cached a few minutes, and
  are never assumed when Telegram cannot say;
- a location (a venue with its title and address) goes in the envelope, a live one marked so
  (the relay lets neither cross unless the circle carries locations, and a live one never);
  the moves of a live location (edits) are not read at all;
- video, audio, animations and video notes are fetched like any file (their metadata is
  removed when stored, see bridge.model.scrub);
- a file is downloaded and stored (images cleaned) up to the Bot API's getFile limit; a larger
  one, or one Telegram refuses, becomes a note instead, and so does one that fails
  ``FILE_TRIES`` times or for ``FILE_BUDGET_S`` (5xx, 429, timeouts): the message crosses
  with the note and the updates after it are not held up longer.

The envelope's key is the update id, so an update read twice (after a crash, or a webhook
retry) is recognised by the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import warnings
from datetime import timedelta

from telegram import Bot, Message, ReactionTypeEmoji, Update
from telegram.error import BadRequest, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bots.telegram.ids import outward
from bots.telegram.pending import Pending
from bots.telegram.polls import poll_of, vote_envelope
from bots.telegram.render import entities_to_spans
from bots.telegram.settings import MAX_FILE, TelegramSettings, chat_id
from bridge.model import keys, media_note
from bridge.model.envelope import Envelope, Location, Media, MediaKind, Quoted, Sender
from bridge.model.i18n import _, render
from bridge.model.media import MediaStore
from bridge.model.ports import BotContext

log = logging.getLogger(__name__)

ANONYMOUS_ADMIN = 1087968824  # GroupAnonymousBot: an admin posting as the group
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.DOTALL)
ADMINS_TTL_S = 300.0  # how long a chat's admin list is trusted
# a file is tried this many times, within this many seconds, then the message crosses with a
# note: one update never holds up the others (the poll waits for each in turn)
FILE_TRIES, FILE_BUDGET_S = 4, 60.0
# video and audio as posted: (the kind they cross as, the Message attribute, the default
# MIME type); a video note is a video (square, no file name); Telegram's animations are MP4s
_AV: tuple[tuple[MediaKind, str, str], ...] = (
    ("animation", "animation", "video/mp4"), ("video", "video", "video/mp4"),
    ("video", "video_note", "video/mp4"), ("audio", "audio", "audio/mpeg"),
)  # fmt: skip
# in English: a chat that is not configured has no language the bridge knows
NOT_CONFIGURED = _(
    "This bot is not configured for this chat, so nothing from here is carried anywhere. "
    "It is leaving now."
)


class Reader:
    """One bot's updates read into envelopes, with the chats it follows and their admins."""

    def __init__(
        self,
        bot: Bot,
        ctx: BotContext[TelegramSettings],
        media: MediaStore,
        file_budget_s: float = FILE_BUDGET_S,
    ) -> None:
        self.bot = bot
        self.id = ctx.settings.id
        self.ctx = ctx
        self.media = media
        self.chats = {r.chat for r in ctx.rooms}
        self.migrated: dict[str, str] = {}  # configured chat -> the supergroup it became
        self._admins: dict[str, tuple[float, frozenset[int]]] = {}  # chat -> (until, ids)
        self.username = ""
        self.file_budget_s = file_budget_s
        self.pending = Pending(bot, ctx, self._refuse, lambda room: self.chats.add(room.chat))

    async def load(self) -> None:
        """What is known once the bot is connected: its username, the chats that migrated."""
        self.username = self.bot.username or ""
        raw = await self.ctx.redis.hgetall(keys.bot_state(self.id, "migrated"))
        self.migrated = {str(k): str(v) for k, v in raw.items()}

    def target(self, chat: str) -> str:
        """Where a delivery for a configured chat goes: the supergroup it became, if any."""
        return self.migrated.get(chat, chat)

    async def envelope(self, update: Update) -> Envelope | None:
        key = f"tg:{self.id}:{update.update_id}"
        if update.my_chat_member is not None:
            change = update.my_chat_member
            joined = change.chat
            if change.new_chat_member.status not in ("member", "administrator"):
                return None
            configured = self._configured(str(joined.id))
            if configured is None:
                await self.pending.added(change)  # waits for a link, or is left at once
                return None
            if change.old_chat_member.status not in ("left", "kicked"):
                return None  # promoted or restricted, not added
            me = Sender(id=f"telegram:{self.bot.id}", name=self.username, is_bot=True)
            return Envelope(key=key, kind="joined", bot=self.id, chat=configured, message_id="",
                            sender=me)  # fmt: skip
        if update.message_reaction is not None:
            r = update.message_reaction
            chat = self._configured(str(r.chat.id))
            # the emoji she shows now (a Premium member may show several); a custom or paid
            # reaction alone is none of the emoji the bridge counts: as if taken back
            shown = tuple(str(x.emoji) for x in r.new_reaction
                          if isinstance(x, ReactionTypeEmoji))[:16]  # fmt: skip
            emoji = shown[0] if shown else "" if (r.new_reaction or r.old_reaction) else None
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
                key=key, kind="reaction", bot=self.id, chat=chat,
                message_id=outward(r.message_id, str(r.chat.id) != chat),
                sender=who, reaction=emoji, reactions=shown, admin=admin,
            )  # fmt: skip
        if update.poll is not None:  # votes on a poll: counted only if this bot sent it
            return await vote_envelope(self.ctx.redis, self.id, key, update.poll)
        message = update.message or update.edited_message
        if message is None:
            return None
        if message.migrate_to_chat_id is not None:
            await self._migrated(str(message.chat.id), str(message.migrate_to_chat_id))
            return None
        chat = self._configured(str(message.chat.id))
        if chat is None:
            if update.message is not None:  # pending: only /link is read; else refused
                await self.pending.message(message)
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
        location = _location_of(message)
        if edit and message.location is not None:
            return None  # a live location moving: its first message said it does not cross
        poll = poll_of(message)
        if not text.strip() and found is None and location is None and poll is None:
            return None  # a service message (someone joined, a pin, a new topic): nothing to carry
        topic = message.message_thread_id if message.is_topic_message else None
        moved = str(message.chat.id) != chat  # in the supergroup a configured group became
        reply = message.reply_to_message
        reply_to = None
        if reply is not None and not (topic is not None and reply.message_id == topic):
            reply_to = outward(reply.message_id, moved)
        command = _COMMAND.match(message.text or "") if not edit else None
        if command is not None:
            target = command.group(2)
            if target and target.lower() != self.username.lower():
                return None  # a command for another bot
            admin = anonymous_admin or (user is not None and await self._is_admin(chat, user.id))
            quoted = _quoted(reply, moved) if reply_to is not None and reply is not None else None
            return Envelope(
                key=key, kind="command", bot=self.id, chat=chat, topic=topic,
                message_id=outward(message.message_id, moved), sender=sender,
                command=command.group(1).lower(),
                args=(command.group(3) or "").strip(), reply_to=reply_to, admin=admin,
                quoted=quoted,
            )  # fmt: skip
        media = None
        if found is not None:  # an edit changes the caption only: the file is not fetched again
            carried = not edit and await self.ctx.may_carry(chat, sender.id)
            media = await self._fetch(*found) if carried else found[0]
        return Envelope(
            key=key, kind="edit" if edit else "message", bot=self.id, chat=chat, topic=topic,
            message_id=outward(message.message_id, moved), sender=sender, text=text, spans=spans,
            reply_to=reply_to, media=media, location=location, ts=message.date.timestamp(),
            poll=poll,
        )  # fmt: skip

    async def _fetch(self, media: Media, file_id: str | None) -> Media:
        """The file downloaded and stored (images cleaned), or the media with a note."""
        if file_id is None:
            return media
        if media.size > MAX_FILE:
            return media.model_copy(update={"note": media_note.TOO_LARGE})
        deadline = time.monotonic() + self.file_budget_s
        for attempt in range(FILE_TRIES):
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 1.0)):
                    file = await self.bot.get_file(file_id)
                    data = bytes(await file.download_as_bytearray())
            except BadRequest as exc:
                too_big = "too big" in exc.message
                note = media_note.TOO_LARGE if too_big else media_note.REFUSED
                return media.model_copy(update={"note": note})
            except (TelegramError, TimeoutError):  # 5xx, 429, timeouts, a file gone (404)
                pause = 0.5 * 2**attempt
                if time.monotonic() + pause >= deadline:
                    break
                await asyncio.sleep(pause)
                continue
            return await self.media.take(media, data)
        log.warning("telegram bot %s: a file could not be downloaded; a note goes instead",
                    self.id)  # fmt: skip
        return media.model_copy(update={"note": media_note.FETCH_FAILED})

    async def _is_admin(self, chat: str, user_id: int) -> bool:
        """Whether the user administers the chat (getChatAdministrators, cached a few
        minutes). When Telegram cannot say, the answer is no: a right is never assumed."""
        now = time.monotonic()
        cached = self._admins.get(chat)
        if cached is None or cached[0] < now:
            try:
                members = await self.bot.get_chat_administrators(chat_id(self.target(chat)))
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
            _("Telegram group {old} became supergroup {new}. Translocal follows it; set "
              "{setting} to {new} in the config before the next restart.",
              old=old, new=new, setting="rooms[].chat")
        )  # fmt: skip

    async def _refuse(
        self, chat: int, said: str = "", why: str = "it is not in the config"
    ) -> None:
        """Leave this chat, every time; say why (``said``, else that it is not configured)
        and log it once an hour per chat only: adding the bot again and again must not spend
        its Bot API budget on words, nor fill the log."""
        if await self.ctx.redis.set(
            keys.bot_state(self.id, f"refused:{chat}"), 1, nx=True, ex=3600
        ):
            log.warning("telegram bot %s: leaving chat %s: %s", self.id, chat, why)
            with contextlib.suppress(TelegramError):
                await self.bot.send_message(chat, said or render(NOT_CONFIGURED, "en"))
        with contextlib.suppress(TelegramError):
            await self.bot.leave_chat(chat)


def _quoted(reply: Message, moved: bool) -> Quoted | None:
    """The replied-to message as Telegram shows it with a reply (its text, not its files)."""
    text = reply.text or reply.caption or ""
    if not text or reply.from_user is None:
        return None
    entities = reply.entities if reply.text else reply.caption_entities
    user = reply.from_user
    return Quoted(
        message_id=outward(reply.message_id, moved),
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
            return Media(kind="sticker", emoji=s.emoji or "", note=media_note.ANIMATED), None
        sticker = Media(kind="sticker", mime="image/webp", emoji=s.emoji or "", width=s.width,
                        height=s.height, size=s.file_size or 0)  # fmt: skip
        return sticker, s.file_id
    if message.voice:
        v = message.voice
        return Media(kind="voice", mime=v.mime_type or "audio/ogg", size=v.file_size or 0), (
            v.file_id
        )
    for kind, attr, mime in _AV:
        found = getattr(message, attr, None)
        if found:
            side = getattr(found, "length", None)  # a video note is a square
            av = Media(kind=kind, name=getattr(found, "file_name", None) or "",
                       mime=getattr(found, "mime_type", None) or mime, size=found.file_size or 0,
                       duration=_seconds(found, "duration"),
                       width=getattr(found, "width", None) or side,
                       height=getattr(found, "height", None) or side)  # fmt: skip
            return av, found.file_id
    if message.document:
        doc = message.document
        return Media(kind="file", name=doc.file_name or "", mime=doc.mime_type or "",
                     size=doc.file_size or 0), doc.file_id  # fmt: skip
    return None


def _location_of(message: Message) -> Location | None:
    """The place a message shares (a venue with its title and address); a live one marked
    so. Coordinates out of range make an unusable location: the copy says it was not carried.
    """
    venue, point = message.venue, message.location
    if venue is not None:
        point = venue.location
    if point is None:
        return None
    live = bool(_seconds(point, "live_period"))
    title, address = (venue.title, venue.address) if venue is not None else ("", "")
    found = Location.of(point.latitude, point.longitude, title, address, live=live)
    return found or Location(latitude=0.0, longitude=0.0, live=True)  # never carried


def _seconds(found: object, attr: str) -> int | None:
    """A duration PTB gives as int or timedelta (it warns that the type will change)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = getattr(found, attr, None)
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return value if isinstance(value, int) and not isinstance(value, bool) else None
