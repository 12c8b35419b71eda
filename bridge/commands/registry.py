"""In-chat commands: who may use which, and what a handler is given.

Adapters parse commands into command envelopes (each platform declares its prefixes), and
say whether the sender is an admin of that chat (``Envelope.admin``: a Telegram chat admin,
anonymous admins included, or Matrix power level 50 or more). Here that becomes a right:
moderators are those admins plus ``moderators`` from the config, organizers are
``organizers``. Anyone else is refused with a short answer in the room's language, nothing
changes, and the attempt is audited.

A handler is registered with ``@command`` and gets a ``Call``. It answers with
``call.say`` (a notice in the room's language, replying to the command) and may add
deliveries to ``call.deliveries``; both are committed with the inbox entry. A handler can
run twice for one envelope (a relay worker that died before committing): its effects in
Redis must be idempotent (SET, SADD, keys derived from the envelope key). Reactions and the
bot's joining a room are handled alike, by ``@on_event`` handlers.

Handlers see the relay through ``RouterView``, the narrow part of the router they use; the
relay sees this package only through its ``Actions`` seam (``Commands`` implements it).
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from redis.asyncio import Redis

from bridge.config.models import Config, RoomConfig
from bridge.model.catalogs import active
from bridge.model.envelope import Delivery, Envelope, MsgRef
from bridge.model.i18n import Message, Param, _, render
from bridge.moderation.audit import Audit
from bridge.moderation.policy import ModerationPolicy
from bridge.relay.seams import RouterView

log = logging.getLogger(__name__)

Right = Literal["anyone", "moderator", "organizer"]
Handler = Callable[["Call"], Awaitable[None]]
# modules that register handlers, imported once by name (they import this module)
HANDLER_MODULES = (
    "bridge.commands.threads",
    "bridge.commands.rooms",
    "bridge.callouts.chat",
    "bridge.callouts.rsvp",  # rsvp yes|maybe|no, and ✊/🤔 on a call-out's copy
    "bridge.commands.filters",  # word filters, release/drop of held copies
    "bridge.commands.quarantine",
    "bridge.commands.consent",  # no (consent_minutes); the share timer
    "bridge.commands.protect",  # block, unblock, blocks, report
    "bridge.commands.forget",  # forgetme
    "bridge.commands.fixes",  # fix: members correct translations, the circle learns
    "bridge.commands.invites",  # invite, invite list|revoke, unlink: rooms linked from chat
    "bridge.commands.polls",  # poll results, vote N; votes on poll copies, their close
    "bridge.commands.reaction_counts",  # reactions counted for copies' count lines
)


@dataclass(frozen=True)
class Spec:
    name: str
    right: Right
    handler: Handler
    usage: Message  # e.g. "{command} [circle] (as a reply)": {command} is the command word
    summary: Message  # one line for help, in the room's language from the catalogs


COMMANDS: dict[str, Spec] = {}
# envelope kind ("reaction", "joined") -> its handlers, in registration order (a reaction
# may share a thread and answer a call-out's RSVP: each handler looks for its own)
EVENTS: dict[str, list[Handler]] = {}


def command(
    name: str, right: Right, usage: Message, summary: Message
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Spec(name, right, handler, usage, summary)
        return handler

    return register


def listed() -> list[Spec]:
    """The commands in the order help and menus show them: by ``HANDLER_MODULES``, then as
    each module registers them (whichever module another import loaded first)."""
    rank = {name: i for i, name in enumerate(HANDLER_MODULES)}
    order = list(COMMANDS)
    return sorted(
        COMMANDS.values(),
        key=lambda spec: (rank.get(spec.handler.__module__, len(rank)), order.index(spec.name)),
    )


def command_menu() -> dict[str, list[tuple[str, str]]]:
    """Each command and what it does, in every language with a catalog ("" for English):
    what a platform's command menu shows (Telegram's setMyCommands per language_code)."""
    load_handlers()
    menu = {}
    for language in ["", *active().languages()]:
        menu[language] = [(spec.name, render(spec.summary, language or "en")) for spec in listed()]
    return menu


def on_event(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        found = EVENTS.setdefault(kind, [])
        name = (handler.__module__, handler.__qualname__)
        if all((h.__module__, h.__qualname__) != name for h in found):  # a module reloaded
            found.append(handler)
        return handler

    return register


def load_handlers() -> None:
    """Import the modules that register handlers (those that exist in this build)."""
    for name in HANDLER_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


@dataclass
class Call:
    """One command (or reaction, or join), as its handler sees it."""

    envelope: Envelope
    room: RoomConfig
    router: RouterView
    moderation: ModerationPolicy
    moderator: bool
    organizer: bool
    deliveries: list[Delivery] = field(default_factory=list)
    clock: Callable[[], float] = time.time  # invites' expiry (App.links_clock in tests)

    @property
    def config(self) -> Config:
        return self.router.config

    @property
    def redis(self) -> Redis:
        return self.router.redis

    @property
    def args(self) -> str:
        return self.envelope.args

    @property
    def who(self) -> str:
        return self.envelope.sender.id

    def target(self) -> MsgRef | None:
        """The message the command replies to, in this room."""
        reply_to = self.envelope.reply_to
        return MsgRef(room=self.room.id, id=reply_to) if reply_to else None

    async def say(self, text: Param) -> None:
        """Answer in this room, in its language (a marked text, from the room's catalog)."""
        self.deliveries.append(await self.router.notice_to(self.room, text, self.envelope))

    async def audit(
        self, action: str, outcome: str, *, message: str = "", detail: str = ""
    ) -> None:
        await Audit(self.redis, self.config.retention.audit_days).record(
            self.who, self.room.id, action, outcome, message=message, detail=detail
        )


def is_moderator(config: Config, envelope: Envelope) -> bool:
    return envelope.admin or envelope.sender.id in config.moderators


class Commands:
    """The relay's ``Actions``: runs command envelopes, reactions and joins."""

    def __init__(
        self, moderation: ModerationPolicy, clock: Callable[[], float] = time.time
    ) -> None:
        self.moderation = moderation
        self.clock = clock
        load_handlers()

    def _call(self, router: RouterView, envelope: Envelope, room: RoomConfig) -> Call:
        config = router.config
        return Call(
            envelope,
            room,
            router,
            self.moderation,
            moderator=is_moderator(config, envelope),
            organizer=envelope.sender.id in config.organizers,
            clock=self.clock,
        )

    async def command(
        self, router: RouterView, envelope: Envelope, room: RoomConfig
    ) -> list[Delivery]:
        """Run one command envelope; the deliveries it makes (answers and effects)."""
        spec = COMMANDS.get(envelope.command or "")
        if spec is None:
            return []  # another bot's command, or a typo: silence, as in a busy group
        call = self._call(router, envelope, room)
        allowed = {
            "anyone": True, "moderator": call.moderator, "organizer": call.organizer
        }[spec.right]  # fmt: skip
        if not allowed:
            word = router.command_prefix(room) + spec.name
            if spec.right == "moderator":
                text = _("Only moderators of this room can use {command}. Nothing was changed.",
                         command=word)  # fmt: skip
            else:
                text = _("Only organizers can use {command}. Nothing was changed.", command=word)
            await call.say(text)
            await call.audit(spec.name, "refused", message=envelope.reply_to or "",
                             detail=f"needs {spec.right}")  # fmt: skip
            return call.deliveries
        await spec.handler(call)
        return call.deliveries

    async def event(
        self, router: RouterView, envelope: Envelope, room: RoomConfig
    ) -> list[Delivery]:
        handlers = EVENTS.get(envelope.kind, [])
        if not handlers:
            return []
        call = self._call(router, envelope, room)
        for handler in handlers:
            await handler(call)
        return call.deliveries
