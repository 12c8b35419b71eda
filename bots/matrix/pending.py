"""Matrix rooms that invited the bot without being configured or linked: kept pending.

An invite to a room the bot does not serve is declined at once, never joined: when the
inviter's server (the part of their user id after the first ':') is in ``ctx.refuse_servers``
(logged without the user's local part); when it is a direct-message invite (``is_direct`` in
the bot's ``m.room.member`` invite), since a room is linked from a group room by its admins,
never from a DM, and anyone on the federation can open one (so the DM is not joined, and takes
none of the pending places); and when ``ctx.pending_limit`` rooms wait already (0: invites are
off). The one log line of a declined DM is the caller's (``Membership``): no user id in it.
Otherwise the bot joins and the room waits ``PENDING_WINDOW_S`` for an admin's
``!link CODE <language> <label> [timezone]``: once the first sync shows the room (so that an
encrypted room is known encrypted and the notice goes encrypted), the bot says once how to
link it, and it leaves when the window passes (``sweep``). A room invited again within its
window keeps it, and is told nothing new.

While a room waits, the bot carries nothing from it: of what a sync brings there, only
``!link`` is read (decrypted by nio like any event), as a ``LinkRequest`` whose sender is an
admin at power level 50 or more, or as a creator of a room of version 12 or later. The
bridge's answer is said in the room by the bot itself, and a linked room is served at once
(``on_linked``), without waiting for the watcher of linked rooms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from typing import Any

from aiohttp import ClientError
from nio import AsyncClient, ErrorResponse, InviteMemberEvent, LocalProtocolError, MatrixRoom

from bots.matrix.rooms import creators
from bots.matrix.settings import MatrixSettings
from bridge.model import keys
from bridge.model.i18n import Param, render
from bridge.model.links import LinkRequest, PendingChats, waiting_text
from bridge.model.ports import BotContext
from bridge.model.settings import RoomConfig

log = logging.getLogger(__name__)

_LINK = re.compile(r"^[!/]link(?:\s+(.*))?$", re.DOTALL | re.IGNORECASE)
WAITING = waiting_text("!link CODE <language> <label> [timezone]", "!invite")
ADMIN_LEVEL = 50  # as a moderator of a Matrix room
_ERRORS = (ClientError, TimeoutError, OSError, LocalProtocolError)


def server_of(user_id: str) -> str:
    """The homeserver part of a user id (``@ana:example.org`` -> ``example.org``)."""
    return user_id.split(":", 1)[1].lower() if ":" in user_id else ""


class Pending:
    """One Matrix bot's pending rooms: invites, the once-said text, ``!link``, the sweep."""

    def __init__(
        self,
        ctx: BotContext[MatrixSettings],
        client: Callable[[], AsyncClient],
        on_linked: Callable[[RoomConfig], None],
    ) -> None:
        self.ctx = ctx
        self.id = ctx.settings.id
        self.own = ctx.settings.user_id
        self.rooms = PendingChats(ctx.redis, self.id, ctx.clock, limit=ctx.pending_limit,
                                  per_server=ctx.pending_per_server)  # fmt: skip
        self._client = client
        self.on_linked = on_linked
        self._greet: set[str] = set()  # joined to wait: the notice goes once a sync shows it
        self._refused = frozenset(s.lower() for s in ctx.refuse_servers)
        self._sweeper: asyncio.Task[None] | None = None
        self._direct: set[str] = set()  # DM invites the last sync brought, until ``invited``

    async def invited(self, room_id: str) -> bool:
        """An invite to a room the bot does not serve: True to join it and wait for a link,
        False to decline it."""
        room = self._client().invited_rooms.get(room_id)
        server = server_of(room.inviter or "") if room is not None else ""
        direct = room_id in self._direct
        self._direct.discard(room_id)
        if server in self._refused:
            log.warning("matrix bot %s: declined an invite to %s from a user on %s "
                        "(link.refuse_servers)", self.id, room_id, server)  # fmt: skip
            return False
        if direct:
            return False
        if await self.ctx.redis.zscore(keys.pending_chats(self.id), room_id) is not None:
            return True  # invited again within its window: no new window, nothing said again
        inviter = (room.inviter or "") if room is not None else ""
        if not inviter:  # nobody to count it against: no place for it
            return False
        if self.ctx.pending_limit <= 0:
            return False
        if not await self.rooms.add(room_id, inviter, server):
            log.warning("matrix bot %s: too many rooms wait for a link already (from that user, "
                        "from %s, or in all): declining %s", self.id, server, room_id)  # fmt: skip
            return False
        log.info("matrix bot %s: invited to %s, which is not configured or linked; it waits "
                 "for a link", self.id, room_id)  # fmt: skip
        self._greet.add(room_id)
        return True

    async def synced(self, room_id: str, events: list[Any], joined_at: int | None) -> bool:
        """A sync shows ``room_id``, which the bot does not serve. True when it is pending
        (what came is handled here: ``!link`` read, the rest dropped); False otherwise."""
        if not await self.rooms.waiting(room_id):
            return False
        if room_id in self._greet:
            self._greet.discard(room_id)
            await self._say(room_id, WAITING, "en")
        for event in events:
            source = getattr(event, "source", None)
            if not isinstance(source, dict):
                continue  # an event nio could not decrypt: nothing else is read here anyway
            if joined_at is not None and _int(source.get("origin_server_ts")) < joined_at:
                continue  # from before the bot joined
            if await self._link(room_id, source):
                break  # linked: the room is served from the next sync on
        return True

    def start(self) -> None:
        """Begin sweeping, and noting DM invites: before the bot's first sync, so that an
        invite waiting since before its first start ever is seen as one too."""
        self._client().add_event_callback(self._invite_seen, InviteMemberEvent)
        self._sweeper = asyncio.create_task(self.sweep(), name=f"matrix-pending-{self.id}")

    def _invite_seen(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        """nio shows each event of an invite's stripped state, before the sync reaches
        ``invited``: note the rooms whose invite of this bot says ``is_direct``."""
        content = event.content if isinstance(event.content, dict) else {}
        if (event.state_key == self.own and event.membership == "invite"
                and content.get("is_direct") is True):  # fmt: skip
            self._direct.add(room.room_id)

    async def stop(self) -> None:
        sweeper, self._sweeper = self._sweeper, None
        while sweeper is not None and not sweeper.done():
            # redis-py can lose a cancellation that lands inside a command: ask again
            sweeper.cancel()
            await asyncio.wait({sweeper}, timeout=0.5)

    async def sweep(self) -> None:
        """Leave the rooms whose window has passed, every ``ctx.pending_sweep_s``, until
        cancelled (``PendingChats.sweep``: a failed round is logged, the next one tries)."""
        await self.rooms.sweep(self._leave, self.ctx.pending_sweep_s, self._sweep_failed)

    async def _leave(self, room_id: str) -> None:
        with contextlib.suppress(*_ERRORS):  # the homeserver away: not retried
            await self._client().room_leave(room_id)
        self._greet.discard(room_id)
        log.info("matrix bot %s: nobody linked %s in time; left it", self.id, room_id)

    def _sweep_failed(self, exc: Exception) -> None:
        log.warning("matrix bot %s: sweeping pending rooms failed (%s)", self.id,
                    type(exc).__name__)  # fmt: skip

    async def _link(self, room_id: str, source: dict[str, Any]) -> bool:
        """``!link ...`` to the bridge, its answer said here; True once the room is linked."""
        content = source.get("content")
        sender = source.get("sender")
        if (source.get("type") != "m.room.message" or not isinstance(content, dict)
                or content.get("msgtype") != "m.text" or not isinstance(sender, str)
                or sender == self.own):  # fmt: skip
            return False
        found = _LINK.match(str(content.get("body") or ""))
        if found is None or not await self.rooms.attempt(room_id, f"matrix:{sender}"):
            return False  # not a link; or a flood: no state fetched, no answer (LINK_TRIES)
        room = self._client().rooms.get(room_id)
        user = room.users.get(sender) if room is not None else None
        request = LinkRequest(
            bot=self.id, chat=room_id, sender=f"matrix:{sender}",
            name=(user.display_name if user is not None else "") or sender,
            admin=await self._admin(room_id, sender), args=(found.group(1) or "").strip(),
        )  # fmt: skip
        answer = await self.ctx.link(request)
        await self._say(room_id, answer.text, answer.language)
        if answer.room is None:
            return False
        self.on_linked(answer.room)
        await self.rooms.done(room_id)
        log.info("matrix bot %s: %s was linked as room %s", self.id, room_id, answer.room.id)
        return True

    async def _admin(self, room_id: str, user_id: str) -> bool:
        """Power level 50 or more, or, from room version 12 on, a creator of the room, as the
        homeserver says now (a room just joined may not have shown its state in a sync
        yet); no when it cannot say."""
        try:
            found = await self._client().room_get_state(room_id)
        except _ERRORS:
            return False
        events = getattr(found, "events", None)
        state = {(e.get("type"), e.get("state_key")): e for e in events or ()
                 if isinstance(e, dict)}  # fmt: skip
        if user_id in creators(state.get(("m.room.create", ""), {})):
            return True
        levels = state.get(("m.room.power_levels", ""), {}).get("content")
        if not isinstance(levels, dict):
            return False
        users = levels.get("users")
        level = users.get(user_id) if isinstance(users, dict) else None
        if level is None:
            level = levels.get("users_default", 0)
        return isinstance(level, int) and level >= ADMIN_LEVEL

    async def _say(self, room_id: str, text: Param, language: str) -> None:
        content = {"msgtype": "m.notice", "body": render(text, language), "m.mentions": {}}
        try:
            sent = await self._client().room_send(room_id, "m.room.message", content,
                                                  ignore_unverified_devices=True)  # fmt: skip
        except _ERRORS as exc:
            sent = None
            log.warning("matrix bot %s: cannot post in %s (%s)", self.id, room_id,
                        type(exc).__name__)  # fmt: skip
        if isinstance(sent, ErrorResponse):
            log.warning("matrix bot %s: cannot post in %s (%s)", self.id, room_id,
                        sent.status_code)  # fmt: skip


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
