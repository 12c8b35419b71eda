"""Which rooms the Matrix bot is in, and how it gets there and stays.

- Invites to configured rooms are accepted; to other rooms, accepted to wait for a link
  (bots/matrix/pending.py) or declined (a refused server, too many waiting); configured
  rooms not joined yet are joined after the first sync (an invite, or a public room);
  aliases resolved.
- A room the bot has just joined brings no history across: ``joined_at`` says when it
  joined, and the sync handles only what follows. Until its first sync shows the room,
  deliveries into it wait (``just_joined``).
- Room upgrades (``m.room.tombstone``) are followed: the replacement is joined and becomes
  the room of the same chat (``bots.matrix.rooms``), and the operator is told.
- Who moderates: from room version 12 on, a room's creators outrank every power level
  (``m.room.create``).
- Rooms that are encrypted are listed in Redis (``keys.bot_state(bot, "encrypted")``) for
  the relay, which keeps encrypted threads inside them.

The sync loop (``bots.matrix.bot``) calls in here for what each sync brings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, cast

from aiohttp import ClientError
from nio import AsyncClient, ErrorResponse, JoinResponse, RoomResolveAliasResponse

from bots.matrix.ingest import Where, joined
from bots.matrix.pending import Pending
from bots.matrix.rooms import RoomMap, creators
from bots.matrix.settings import MatrixSettings
from bridge.model import keys
from bridge.model.i18n import _
from bridge.model.ports import BotContext

log = logging.getLogger(__name__)


class Membership:
    def __init__(
        self, ctx: BotContext[MatrixSettings], rooms: RoomMap, client: Callable[[], AsyncClient]
    ) -> None:
        self.ctx = ctx
        self.id = ctx.settings.id
        self.user_id = ctx.settings.user_id
        self.rooms = rooms
        self._client = client  # the bot's client, once it has one
        self.encrypted: set[str] = set()  # the configured chats that are encrypted
        self._encrypted_key = keys.bot_state(self.id, "encrypted")
        self._joined_here: set[str] = set()  # rooms joined by this run (their state may lag)
        self._fresh: dict[str, int] = {}  # room id -> when the bot joined (ms), until synced
        self._creators: dict[str, set[str]] = {}  # room id -> creators (v12+: all-powerful)
        self.pending: Pending | None = None  # rooms that wait for a link (set by the bot)

    async def load(self) -> None:
        """Read what earlier runs learnt: the room map and the encrypted chats."""
        await self.rooms.load()
        self.encrypted = set(cast(set[str], await self.ctx.redis.smembers(self._encrypted_key)))

    def joined_at(self, room_id: str) -> int | None:
        """When the bot joined the room (ms), the first time a sync shows it since; else None."""
        return self._fresh.pop(room_id, None)

    def just_joined(self, room_id: str, client: AsyncClient) -> bool:
        """Joined by this run, and no sync has shown the room yet."""
        return room_id in self._joined_here and room_id not in client.rooms

    def is_creator(self, room_id: str, user_id: str) -> bool:
        return user_id in self._creators.get(room_id, ())

    async def resolve_aliases(self) -> None:
        for alias in self.rooms.unresolved():
            try:
                found = await self._client().room_resolve_alias(alias)
            except (ClientError, TimeoutError, OSError):
                continue  # the sync loop's backoff says it; the next start resolves it
            if isinstance(found, RoomResolveAliasResponse):
                await self.rooms.resolved(alias, found.room_id)
            else:
                log.warning("matrix bot %s: alias %s does not resolve (%s)",
                            self.id, alias, found.status_code)  # fmt: skip

    async def join_configured(self) -> None:
        await self.resolve_aliases()
        client = self._client()
        for chat in self.rooms.chats:
            room_id = self.rooms.room(chat)
            if room_id is not None and (room_id in client.rooms or
                                        room_id in self._joined_here):  # fmt: skip
                continue
            joined = await self._join(room_id or chat)
            if isinstance(joined, JoinResponse):
                if room_id is None:
                    await self.rooms.resolved(chat, joined.room_id)
                log.info("matrix bot %s: joined %s", self.id, chat)
                await self._joined(joined.room_id, chat)
            else:
                log.warning("matrix bot %s: cannot join %s (%s): invite the bot, or make the "
                            "room public", self.id, chat, joined.status_code)  # fmt: skip

    async def invited(self, room_id: str) -> None:
        if self.rooms.chat(room_id) is None and self.rooms.unresolved():
            await self.resolve_aliases()
        chat = self.rooms.chat(room_id)
        if chat is None and self.pending is not None and await self.pending.invited(room_id):
            joined = await self._join(room_id)  # it waits for a link (bots.matrix.pending)
            if not isinstance(joined, JoinResponse):
                log.warning("matrix bot %s: cannot join %s (%s)", self.id, room_id,
                            joined.status_code)  # fmt: skip
            return
        if chat is None:
            log.warning("matrix bot %s: invited to room %s, which is not configured or "
                        "linked; declined", self.id, room_id)  # fmt: skip
            await self._client().room_leave(room_id)
            return
        joined = await self._join(room_id)
        if not isinstance(joined, JoinResponse):
            log.warning("matrix bot %s: cannot join %s (%s)", self.id, chat, joined.status_code)
            return
        log.info("matrix bot %s: accepted the invite to %s", self.id, chat)
        current = self.rooms.room(chat)
        if current is not None and current != room_id:  # the replacement of an upgraded room
            await self._followed(chat, current, room_id)
        else:
            await self._joined(room_id, chat)

    async def state(self, room_id: str, chat: str, source: dict[str, Any]) -> None:
        """A state event of a configured room: its creation, or its upgrade (followed)."""
        if source.get("type") == "m.room.create":
            self._created(room_id, source)
        if source.get("type") != "m.room.tombstone" or self.rooms.room(chat) != room_id:
            return
        content = source.get("content")
        new = content.get("replacement_room") if isinstance(content, dict) else None
        if not isinstance(new, str) or not new.startswith("!") or new == room_id:
            return
        self.rooms.expect(chat, new)
        joined = await self._join(new)
        if isinstance(joined, JoinResponse):
            await self._followed(chat, room_id, new)
            return
        log.warning("matrix bot %s: room %s was upgraded to %s, which it cannot join (%s)",
                    self.id, room_id, new, joined.status_code)  # fmt: skip
        await self.ctx.notice(
            _("Matrix room {chat} ({old}) was upgraded to {new}, and bot {bot} cannot join "
              "it ({status}): invite it there; it follows the room once in.",
              chat=chat, old=room_id, new=new, bot=self.id, status=str(joined.status_code))
        )  # fmt: skip

    async def note_encryption(self, room_id: str, chat: str) -> None:
        """List the chat as encrypted once the room it is now shows encryption (an old room
        that was upgraded away speaks for the chat no more)."""
        if self.rooms.room(chat) != room_id:
            return
        room = self._client().rooms.get(room_id)
        if room is not None and room.encrypted and chat not in self.encrypted:
            self.encrypted.add(chat)
            await self.ctx.redis.sadd(self._encrypted_key, chat)
            log.info("matrix bot %s: room %s is encrypted", self.id, chat)

    def _created(self, room_id: str, source: dict[str, Any]) -> None:
        """From room version 12 on, a room's creators outrank every power level."""
        self._creators[room_id] = creators(source)

    async def _join(self, room: str) -> JoinResponse | ErrorResponse:
        """Join a room (id or alias); its first sync then brings no history."""
        before = int(time.time() * 1000)
        joined = await self._client().join(room)
        if isinstance(joined, JoinResponse):
            self._fresh[joined.room_id] = before
        return cast(JoinResponse | ErrorResponse, joined)

    async def _joined(self, room_id: str, chat: str) -> None:
        self._joined_here.add(room_id)
        where = Where(bot=self.id, chat=chat, own=self.user_id)
        await self.ctx.emit(joined(where, room_id))

    async def _followed(self, chat: str, old: str, new: str) -> None:
        # the replacement is encrypted only once it shows so (note_encryption): until then
        # encrypted threads are kept out of it, and deliveries already routed are refused
        self.encrypted.discard(chat)
        await self.ctx.redis.srem(self._encrypted_key, chat)
        await self.rooms.moved(chat, old, new)
        self._joined_here.add(new)
        log.warning("matrix bot %s: room %s was upgraded to %s; following it",
                    self.id, old, new)  # fmt: skip
        if chat.startswith("#"):
            text = _("Matrix room {chat} was upgraded: {old} is now {new}. Translocal follows "
                     "it.", chat=chat, old=old, new=new)  # fmt: skip
        else:
            text = _("Matrix room {chat} was upgraded: {old} is now {new}. Translocal follows "
                     "it. Set {setting} to {new} in the config.", chat=chat, old=old, new=new,
                     setting="rooms[].chat")  # fmt: skip
        await self.ctx.notice(text)
