"""An in-memory platform at the Bot protocol boundary, for core relay tests.

Everything behind the Bot protocol is real (Redis streams, the relay, the deliverers). The
bot records every delivery as it comes, with no de-duplication of its own, so a duplicate or
a loss shows. Like Matrix, it echoes what it sends back into its own ingress, so the relay's
loop prevention is exercised too.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Literal

from redis.exceptions import RedisError

from bridge.model import keys, media_note
from bridge.model.compose import footer
from bridge.model.envelope import Delivery, Envelope, Media, Sender, Span
from bridge.model.media import MediaStore
from bridge.model.platforms import Platform, TextLimit, register
from bridge.model.ports import BotContext, Job, PermanentFailure, RetryLater
from bridge.model.settings import BotSettings, RoomConfig


class MemorySettings(BotSettings):
    platform: Literal["memory"]


@dataclass
class Delivered:
    """One call of deliver(), as it came."""

    bot: str
    chat: str
    action: str
    key: str
    body: str  # the delivery's text, as the relay made it (translated or not)
    ids: list[str]
    text: str
    reply_to: str | None
    copies: tuple[str, ...]
    at: float
    media: Media | None = None
    delivery: Delivery | None = None  # the delivery itself, for rendering it as a platform would


@dataclass
class ChatMessage:
    id: str
    sender: str
    text: str
    reply_to: str | None = None
    deleted: bool = False
    file: bytes | None = None  # the media a member sees with the message, when carried
    notice: bool = False  # the bridge's own answer or notice, not a copy


@dataclass
class MemoryNetwork:
    bots: dict[str, MemoryBot] = field(default_factory=dict)
    log: list[Delivered] = field(default_factory=list)
    chats: dict[str, dict[str, ChatMessage]] = field(default_factory=dict)
    encrypted: set[str] = field(default_factory=set)  # chats that are end-to-end encrypted

    def bot(self, bot_id: str) -> MemoryBot:
        return self.bots[bot_id]

    def seen_in(self, chat: str) -> list[ChatMessage]:
        """What members of a chat see now, in order."""
        return [m for m in self.chats.get(chat, {}).values() if not m.deleted]

    def sends_to(self, chat: str) -> list[Delivered]:
        return [d for d in self.log if d.chat == chat and d.action == "send"]

    def reset(self) -> None:
        self.bots.clear()
        self.log.clear()
        self.chats.clear()
        self.encrypted.clear()


NETWORK = MemoryNetwork()


def render(job: Job) -> str:
    """Plain text: attribution, text, the language footer, and the original when asked."""
    d = job.delivery
    if d.notice:
        return d.text
    line = f"{d.attribution}: {d.text}"
    note = footer(d)
    if note:
        line += f" · {note}"
    if d.original:
        line += f"\n> {d.original}"
    return line


class MemoryBot:
    def __init__(self, ctx: BotContext, network: MemoryNetwork) -> None:
        self.id = ctx.settings.id
        self.ctx = ctx
        self.network = network
        self.identity = f"memory:{self.id}"
        self._ids = itertools.count(1)
        self.faults: list[Exception] = []  # raised by the next deliver() calls, in order
        # while set and not yet released, sends wait in deliver() (a copy on its way)
        self.held: asyncio.Event | None = None
        self.trouble: str | None = None
        self._echoes: set[asyncio.Task[None]] = set()
        self.closed = False
        self.served: list[list[str]] = []  # the room ids of each serve(), in order

    async def start(self) -> None:
        self.network.bots[self.id] = self
        mine = {r.chat for r in self.ctx.rooms} & self.network.encrypted
        if mine:  # as the Matrix adapter does for the relay
            await self.ctx.redis.sadd(keys.bot_state(self.id, "encrypted"), *mine)

    async def stop(self) -> None:
        return None

    async def serve(self, rooms: list[RoomConfig]) -> None:
        self.served.append([r.id for r in rooms])  # each change, as the bridge told it

    async def close(self) -> None:
        self.closed = True

    async def health(self) -> str | None:
        return self.trouble  # a test sets it to play an unreachable platform

    def _chat(self, chat: str) -> dict[str, ChatMessage]:
        return self.network.chats.setdefault(chat, {})

    async def deliver(self, job: Job) -> list[str]:
        d = job.delivery
        if self.faults:
            raise self.faults.pop(0)
        if self.held is not None and d.action == "send" and not d.notice:
            await self.held.wait()
        chat = self._chat(d.chat)
        ids: list[str] = []
        text = render(job)
        if d.action == "send":
            ids = [str(next(self._ids))]
            file = None
            if d.media is not None and d.media.blob:
                store = MediaStore(self.ctx.redis, self.ctx.media_ttl_s)
                file = await store.get(d.media.blob)
            if d.media is not None and file is None:
                reason = media_note.NOT_CARRIED if d.media.blob else ""
                text += "\n" + d.media.describe(reason, d.language or "en")
            chat[ids[0]] = ChatMessage(
                ids[0], self.identity, text, job.reply_to, file=file, notice=d.notice
            )
        elif d.action == "edit":
            for message_id in job.copies:
                chat[message_id].text = text
            ids = list(job.copies)
        else:
            for message_id in job.copies:
                chat[message_id].deleted = True
        self.network.log.append(
            Delivered(
                bot=self.id,
                chat=d.chat,
                action=d.action,
                key=d.key,
                body=d.text,
                ids=ids,
                text=text,
                reply_to=job.reply_to,
                copies=job.copies,
                at=time.time(),
                media=d.media,
                delivery=d,
            )
        )
        if d.action == "send":  # the platform shows the bot its own message, as Matrix does:
            # on its own way in (a sync), not as part of the send, which has succeeded; so an
            # inbox that is away (Redis restarting) delays the echo and never fails the send
            echo = asyncio.create_task(self._echo(d.chat, ids[0], text))
            self._echoes.add(echo)
            echo.add_done_callback(self._echoes.discard)
        return ids

    async def _echo(self, chat: str, message_id: str, text: str) -> None:
        for _ in range(300):
            try:
                await self._emit("message", chat, message_id,
                                 Sender(id=self.identity, name=self.id), text)  # fmt: skip
                return
            except (RedisError, OSError):
                await asyncio.sleep(0.1)

    async def _emit(
        self,
        kind: Literal["message", "edit", "delete"],
        chat: str,
        message_id: str,
        sender: Sender,
        text: str = "",
        reply_to: str | None = None,
        key: str | None = None,
        *,
        media: Media | None = None,
        spans: tuple[Span, ...] = (),
    ) -> None:
        envelope = Envelope(
            key=key or f"mem:{self.id}:{chat}:{kind}:{message_id}:{time.monotonic_ns()}",
            kind=kind,
            bot=self.id,
            chat=chat,
            message_id=message_id,
            sender=sender,
            text=text,
            reply_to=reply_to,
            media=media,
            spans=spans,
            encrypted=chat in self.network.encrypted,
        )
        await self.ctx.emit(envelope)

    # ---- what a member does -----------------------------------------------------------

    async def post(
        self,
        chat: str,
        text: str,
        *,
        who: str = "ana",
        name: str = "Ana",
        reply_to: str | None = None,
        media: Media | None = None,
        spans: tuple[Span, ...] = (),
    ) -> str:
        message_id = str(next(self._ids))
        sender = Sender(id=f"memory:{who}", name=name)
        self._chat(chat)[message_id] = ChatMessage(message_id, sender.id, text, reply_to)
        await self._emit(
            "message",
            chat,
            message_id,
            sender,
            text,
            reply_to,
            key=f"mem:{self.id}:{chat}:{message_id}",
            media=media,
            spans=spans,
        )
        return message_id

    async def edit(
        self, chat: str, message_id: str, text: str, *, who: str = "ana", name: str = "Ana"
    ) -> None:
        self._chat(chat)[message_id].text = text
        await self._emit("edit", chat, message_id, Sender(id=f"memory:{who}", name=name), text)

    async def command(
        self,
        chat: str,
        name: str,
        args: str = "",
        *,
        reply_to: str | None = None,
        who: str = "ana",
        admin: bool = False,
    ) -> str:
        """A member sends ``+name args`` (as a reply to ``reply_to``); an admin if ``admin``."""
        message_id = str(next(self._ids))
        text = f"{PREFIX}{name} {args}".strip()
        self._chat(chat)[message_id] = ChatMessage(message_id, f"memory:{who}", text, reply_to)
        envelope = Envelope(
            key=f"mem:{self.id}:{chat}:{message_id}", kind="command", bot=self.id, chat=chat,
            message_id=message_id, sender=Sender(id=f"memory:{who}", name=who), command=name,
            args=args, reply_to=reply_to, admin=admin,
        )  # fmt: skip
        await self.ctx.emit(envelope)
        return message_id

    async def react(
        self, chat: str, message_id: str, emoji: str, *, who: str = "ana", admin: bool = False
    ) -> None:
        envelope = Envelope(
            key=f"mem:{self.id}:{chat}:react:{message_id}:{who}:{time.monotonic_ns()}",
            kind="reaction", bot=self.id, chat=chat, message_id=message_id,
            sender=Sender(id=f"memory:{who}", name=who), reaction=emoji, admin=admin,
        )  # fmt: skip
        await self.ctx.emit(envelope)

    async def joined(self, chat: str) -> None:
        """The bot was added to ``chat`` (as adapters report it)."""
        envelope = Envelope(
            key=f"mem:{self.id}:{chat}:joined:{time.monotonic_ns()}", kind="joined", bot=self.id,
            chat=chat, message_id="", sender=Sender(id=self.identity),
        )  # fmt: skip
        await self.ctx.emit(envelope)

    async def delete(self, chat: str, message_id: str, *, who: str = "ana") -> None:
        self._chat(chat)[message_id].deleted = True
        await self._emit("delete", chat, message_id, Sender(id=f"memory:{who}"))


PREFIX = "+"  # not a prefix of either real platform, so that a test shows whose it is
TEXT_LIMIT = TextLimit(500, "runes", len)


def _check_person(who: str) -> str | None:
    return None if re.fullmatch(r"\w+", who) else "an in-memory member is one word"


PLATFORM = register(
    Platform(
        name="memory",
        settings=MemorySettings,
        check_chat=lambda chat: None,
        check_person=_check_person,
        person_hint="<word>",
        command_prefixes=(PREFIX,),
        text_limit=TEXT_LIMIT,
        identity=lambda settings: f"memory:{settings.id}",
        encryption=True,
        factory=lambda ctx: MemoryBot(ctx, NETWORK),
    )
)

__all__ = ["NETWORK", "PermanentFailure", "RetryLater"]
