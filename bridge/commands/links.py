"""Linking a room from chat: ``link CODE <language> <label> [timezone]`` (issue 18).

``Linker`` answers a bot's ``LinkRequest`` (``BotContext.link``) from a chat the bot does not
serve yet. It checks, in this order, what can be checked without the code (invites on, a
chat not served already, an admin asking, a chat not refused for the hour, the form, the
language, the timezone, a label that gives a free id, shown as one line without control,
bidi or zero-width characters; the id of a room unlinked within the message map's retention
is free only to that room's own chat, since the map still names it as the origin of its
messages), then redeems the code in one Redis
step (single-use even when two chats race). Every refusal is one line in the language the
admin gave (else their app's, else English), changes nothing, and is audited; a wrong, used
or expired code is counted (five in an hour and the chat is refused for an hour), and only
its hint (``tl-7K…``) reaches the audit, never the code.

On success the room is laid over this process's config at once (the other processes follow
within a second), the circle's other rooms get a join notice in their language (at most one
per room per hour: ``tell_circle``), and the answer is the new room's welcome, which the
adapter sends itself, so that nothing waits on a deliverer that may not know the room yet.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from redis.asyncio import Redis

from bridge.config.linked import LinkedRoom, merge, room_id_for
from bridge.config.models import CircleConfig, Config, RoomConfig
from bridge.infra.links import LinkStore, Redeemed, hint
from bridge.model import keys
from bridge.model.compose import notice_in, one_line
from bridge.model.envelope import Delivery
from bridge.model.i18n import Language, Lines, Listing, Message, Param, _, has_catalog
from bridge.model.links import LinkAnswer, LinkRequest
from bridge.model.platforms import command_prefix
from bridge.moderation.audit import Audit
from translation.languages import check_language

log = logging.getLogger(__name__)

NOTICE_EVERY_S = 3600  # one join (and one leave) notice per room per hour at most
FORM = "link CODE <language> <label> [timezone]"
EXAMPLE = "link tl-7KQ2-M9 pt Porto Europe/Lisbon"


def platform_label(config: Config, bot: str) -> str:
    """The platform a bot is on, as people name it ("Telegram", "Matrix")."""
    found = next((b.platform for b in config.bots if b.id == bot), "")
    return found.capitalize()


def prefix_of(config: Config, bot: str) -> str:
    """How members type a command to ``bot`` (its platform's registration says)."""
    return command_prefix(next((b.platform for b in config.bots if b.id == bot), ""))


def rule(circle: CircleConfig) -> Message:
    """What crosses in a circle, in one sentence."""
    if circle.relay == "all":
        return _("Here, everything crosses, unless a moderator holds a thread back.")
    if circle.relay == "moderated":
        return _("Here, a thread crosses when a moderator shares it.")
    tags = " ".join(f"#{t}" for t in circle.tags)
    return _("Here, a message crosses with its thread when it carries one of the tags {tags}.",
             tags=tags)  # fmt: skip


def described(config: Config, room: RoomConfig) -> Message:
    """A room as the circle's notices name it: "Porto (Portuguese, Telegram)"."""
    platform = platform_label(config, room.bot)
    return _("{room} ({language}, {platform})", room=room.label,
             language=Language(room.language), platform=platform)  # fmt: skip


async def tell_circle(
    config: Config, redis: Redis, circle: CircleConfig, room: RoomConfig, kind: str, text: Param
) -> list[Delivery]:
    """``text`` for each other room of ``circle``, in its language, unless a ``kind`` notice
    ("joined", "left") about ``room`` went out in the last hour: a chat that links and
    unlinks over and over cannot flood the circle."""
    mark = keys.join_notice(room.id) if kind == "joined" else f"{keys.join_notice(room.id)}:{kind}"
    if not await redis.set(mark, 1, nx=True, ex=NOTICE_EVERY_S):
        return []
    rooms = {r.id: r for r in config.rooms}
    event = uuid.uuid4().hex[:12]  # a later notice is a new one, never taken for a resend
    return [
        notice_in(rooms[other], text, key=f"{kind}:{room.id}:{event}:{other}")
        for other in circle.rooms
        if other != room.id and other in rooms and rooms[other].receive
    ]


class Linker:
    def __init__(
        self, config: Config, redis: Redis, store: LinkStore, clock: Callable[[], float]
    ) -> None:
        self.config = config
        self.redis = redis
        self.store = store
        self.clock = clock

    async def __call__(self, request: LinkRequest) -> LinkAnswer:
        words = request.args.split()
        language = _language_of(words, request.hint)
        refusal = await self._refusal(request, words)
        if isinstance(refusal, Message):
            return LinkAnswer(refusal, language)
        code, room = refusal
        circle_id = await self.store.circle_of(code)
        found = (
            await self.store.redeem(code, circle_id, self._linked(room, circle_id, request))
            if circle_id is not None
            else Redeemed("unknown")
        )
        if found.outcome == "id":
            return LinkAnswer(await self._label_taken(request, room.label), language)
        if found.outcome == "chat":
            await self._audit(request, "refused", "chat linked already")
            return LinkAnswer(_("This chat is already linked. Nothing was changed."), language)
        if found.outcome != "linked":
            return LinkAnswer(await self._wrong_code(request, code), language)
        return await self._linked_now(request, room, found.circle, code)

    async def _refusal(
        self, request: LinkRequest, words: list[str]
    ) -> Message | tuple[str, RoomConfig]:
        """Why the request is refused before its code is tried, else (code, new room)."""
        if not self.config.link.invites:
            await self._audit(request, "refused", "invites are off")
            return _("This bridge does not link rooms from chat.")
        if any(r.bot == request.bot and r.chat == request.chat for r in self.config.rooms):
            await self._audit(request, "refused", "chat served already")
            return _("This chat is already linked. Nothing was changed.")
        if not request.admin:
            await self._audit(request, "refused", "not an admin")
            return _("Only an admin of this chat can link it. Nothing was changed.")
        if await self.store.refused(request.bot, request.chat):
            await self._audit(request, "refused", "refused for the hour")
            return _("Too many wrong codes from this chat: it cannot link for an hour.")
        if len(words) < 3:
            await self._audit(request, "refused", "malformed")
            return _("Send {form}, for example {example}.", form=FORM, example=EXAMPLE)
        try:
            language = check_language(words[1])
        except ValueError:
            await self._audit(request, "refused", "unknown language")
            return _("{code} is not a language code: use two letters of ISO 639-1 (pt, de, "
                     "es, ...). Send {form}.", code=words[1][:20], form=FORM)  # fmt: skip
        label_words, timezone = words[2:], "UTC"
        if len(label_words) > 1 and _zone(label_words[-1]):
            timezone, label_words = label_words[-1], label_words[:-1]
        elif len(label_words) > 1 and "/" in label_words[-1]:
            await self._audit(request, "refused", "unknown timezone")
            return _("{zone} is not a known timezone: use a name like Europe/Lisbon. Send "
                     "{form}.", zone=label_words[-1][:40], form=FORM)  # fmt: skip
        # no control, bidi or zero-width character: "\u202enilreB" would show as "Berlin"
        label = one_line(" ".join(label_words))
        room_id = room_id_for(label)
        if not room_id or len(label) > 64:
            await self._audit(request, "refused", "label gives no id")
            return _("{label} cannot name a room: use letters or digits, up to 64 characters. "
                     "Nothing was changed.", label=label[:64])  # fmt: skip
        if any(r.id == room_id or r.label.casefold() == label.casefold()
               for r in self.config.rooms):  # fmt: skip
            return await self._label_taken(request, label)
        retired = await self.store.retired(room_id)  # the map still knows it as its origin
        if retired is not None and (retired.bot, retired.chat) != (request.bot, request.chat):
            return await self._label_taken(request, label)
        room = RoomConfig(id=room_id, bot=request.bot, chat=request.chat, language=language,
                          label=label, timezone=timezone)  # fmt: skip
        return words[0], room

    def _linked(self, room: RoomConfig, circle: str, request: LinkRequest) -> LinkedRoom:
        return LinkedRoom(room=room, circle=circle, linked_by=request.sender,
                          linked_at=self.clock())  # fmt: skip

    async def _label_taken(self, request: LinkRequest, label: str) -> Message:
        await self._audit(request, "refused", "label taken")
        return _("A room called {label} is in the network already: link with another label. "
                 "Nothing was changed.", label=label)  # fmt: skip

    async def _wrong_code(self, request: LinkRequest, code: str) -> Message:
        tried = await self.store.failed(request.bot, request.chat)
        await self._audit(request, "refused", f"wrong code {hint(code)}; {tried} this hour")
        if await self.store.refused(request.bot, request.chat):
            return _("Too many wrong codes from this chat: it cannot link for an hour.")
        return _("This code is wrong, used or expired. Ask a moderator of the circle for a new "
                 "one. Nothing was changed.")  # fmt: skip

    async def _linked_now(
        self, request: LinkRequest, room: RoomConfig, circle_id: str, code: str
    ) -> LinkAnswer:
        merge(self.config, await self.store.rooms())  # this process at once; others follow
        circle = next(c for c in self.config.circles if c.id == circle_id)
        await self._audit(request, "done", f"circle {circle_id}; code {hint(code)}", room.id)
        log.info("room %s linked to circle %s (code %s)", room.id, circle_id, hint(code))
        text = _("{room} joined {circle}.", room=described(self.config, room), circle=circle_id)
        for delivery in await tell_circle(self.config, self.redis, circle, room, "joined", text):
            await self.redis.xadd(keys.outbox(delivery.bot), {"d": delivery.model_dump_json()})
        return LinkAnswer(self._welcome(room, circle), room.language, room)

    def _welcome(self, room: RoomConfig, circle: CircleConfig) -> Lines:
        others = {r.id: r for r in self.config.rooms}
        listed = tuple(described(self.config, others[i]) for i in circle.rooms
                       if i != room.id and i in others)  # fmt: skip
        prefix = prefix_of(self.config, room.bot)
        leave, commands = prefix + "unlink", prefix + "help"
        return Lines((
            _("This room is now linked to {circle}, with {rooms}.", circle=circle.id,
              rooms=Listing(listed)),
            rule(circle),
            _("The admins of this chat moderate what crosses from here; {command} leaves the "
              "circle.", command=leave),
            _("Send {command} for the commands.", command=commands),
        ))  # fmt: skip

    async def _audit(self, request: LinkRequest, outcome: str, detail: str, room: str = "") -> None:
        await Audit(self.redis, self.config.retention.audit_days).record(
            request.sender, room or f"{request.bot}:{request.chat}", "link", outcome, detail=detail
        )


def _language_of(words: list[str], fallback: str) -> str:
    """The language to answer in: the one given, else the sender's app's, else English."""
    if len(words) > 1:
        try:
            return check_language(words[1])
        except ValueError:
            pass
    return fallback if fallback and has_catalog(fallback) else "en"


def _zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return "/" in name or name == "UTC"
