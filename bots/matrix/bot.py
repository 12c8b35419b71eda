"""The Matrix bot: matrix-nio 0.26 with end-to-end encryption, inside translocal's own loop.

- One device for good (bots/matrix_session.py), so its encryption keys and the transaction
  ids the homeserver remembers survive restarts.
- Our own sync loop. The sync token lives in Redis and moves only after the envelopes of that
  sync are in the inbox; a restart resumes from it (with the rooms' full state), a gap in a
  room's timeline is paged through, and the first start ever skips history. A failing
  homeserver is retried with capped backoff; it never stops the bot.
- Invites to configured rooms are accepted, others declined; aliases resolved; room upgrades
  followed (bots/matrix_rooms.py). Rooms that are encrypted are listed in Redis for the relay.
- Events become envelopes in bots/matrix_ingest.py; their files are fetched (and decrypted)
  in bots/matrix_fetch.py. An event that cannot be decrypted yet waits in Redis (ciphertext
  only) until its key arrives (bots/matrix_parked.py).
- A room the bot has just joined brings no history across: only what follows the join.
- Deliveries go out in bots/matrix_send.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, cast

from aiohttp import ClientError
from nio import (
    AsyncClient,
    ErrorResponse,
    JoinResponse,
    LocalProtocolError,
    MegolmEvent,
    RoomMessagesResponse,
    RoomResolveAliasResponse,
    SyncResponse,
)
from nio.api import MessageDirection

from bots.matrix.fetch import TransientError, fetch_file
from bots.matrix.ingest import Where, joined, read_event
from bots.matrix.parked import Parked
from bots.matrix.rooms import RoomMap
from bots.matrix.send import SendContext, Sender
from bots.matrix.session import open_client
from bridge.model import keys
from bridge.model.media import MediaStore
from bridge.model.ports import BotContext, Job, RetryLater

log = logging.getLogger(__name__)

_QUIET = {"not_types": ["*"]}
INITIAL_FILTER = {"presence": _QUIET, "account_data": _QUIET,
                  "room": {"timeline": {"limit": 1}, "ephemeral": _QUIET,
                           "account_data": _QUIET}}  # fmt: skip

MAX_SYNC_BACKOFF_S = 15.0
READY_WAIT_S = 30.0
MODERATOR_LEVEL = 50  # a moderator of a Matrix room (design.md, in-chat commands)
_LEGACY_VERSIONS = frozenset(str(v) for v in range(1, 12))  # creators hold no special power


def sync_filter(own: str) -> dict[str, Any]:
    """What the bot syncs: room timelines and state, up to 100 events a sync (a gap beyond
    is paged), without its own events (they never re-enter; and a send then wakes no sync
    of ours), typing, receipts, presence or account data."""
    room = {"timeline": {"limit": 100, "not_senders": [own]}, "ephemeral": _QUIET,
            "account_data": _QUIET}  # fmt: skip
    return {"presence": _QUIET, "account_data": _QUIET, "room": room}


class MatrixBot:
    def __init__(
        self, ctx: BotContext, *, sync_timeout_ms: int = 30_000, max_upload: int | None = None
    ) -> None:
        settings = cast(Any, ctx.settings)
        self.id: str = settings.id
        self.ctx = ctx
        self.settings = settings
        self.user_id: str = settings.user_id
        self.sync_timeout_ms = sync_timeout_ms
        self.rooms = RoomMap(ctx.redis, self.id, [r.chat for r in ctx.rooms])
        self.media = MediaStore(ctx.redis, ctx.media_ttl_s)
        self.client: AsyncClient | None = None
        self.ready = asyncio.Event()
        self.sender: Sender | None = None
        self.max_upload = max_upload
        self._syncer: asyncio.Task[None] | None = None
        self._encrypted: set[str] = set()
        self._token_key = keys.bot_state(self.id, "next_batch")
        self.parked = Parked(ctx.redis, self.id)
        self._encrypted_key = keys.bot_state(self.id, "encrypted")
        self._unmapped_seen: set[str] = set()
        self._stopping = False
        self._in_flight = 0  # deliveries under way (the last one after stop() closes the client)
        self._joined_here: set[str] = set()  # rooms joined by this run (their state may lag)
        self._fresh: dict[str, int] = {}  # room id -> when the bot joined (ms), until synced
        self._creators: dict[str, set[str]] = {}  # room id -> creators (v12+: all-powerful)

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self.client = await open_client(self.settings, self.ctx.data_dir)
        try:
            await self._start()
        except BaseException:
            await self.client.close()
            raise

    async def _start(self) -> None:
        self.sender = Sender(SendContext(self._client, self.id, self.media, self.max_upload))
        await self.rooms.load()
        self._encrypted = set(cast(set[str], await self.ctx.redis.smembers(self._encrypted_key)))
        await self._resolve_aliases()
        token = cast(str | None, await self.ctx.redis.get(self._token_key))
        await self.parked.load()
        full_state = True
        if token is None:  # the first start ever: take the rooms as they are, skip history
            token = await self._initial_sync()
            full_state = False
        self._syncer = asyncio.create_task(
            self._sync_loop(token, full_state), name=f"matrix-sync-{self.id}"
        )
        self._syncer.add_done_callback(self._sync_ended)
        log.info("matrix bot %s (%s) syncing", self.id, self.user_id)

    async def stop(self) -> None:
        self._stopping = True
        if self._syncer is not None:
            # redis-py can lose a cancellation that lands inside a command: ask until it ends
            while not self._syncer.done():
                self._syncer.cancel()
                await asyncio.wait({self._syncer}, timeout=0.5)
            with contextlib.suppress(asyncio.CancelledError):
                await self._syncer
        if self.client is not None and not self._in_flight:
            await self.client.close()  # else the last delivery in flight closes it

    async def close(self) -> None:
        return None  # stop() and the last delivery in flight close the client

    async def health(self) -> str | None:
        return None

    def _sync_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("matrix bot %s: the sync loop stopped on an error", self.id,
                      exc_info=task.exception())  # fmt: skip

    async def deliver(self, job: Job) -> list[str]:
        self._in_flight += 1
        try:
            return await self._deliver(job)
        finally:
            self._in_flight -= 1
            if self._stopping and not self._in_flight and self.client is not None:
                await self.client.close()  # deliveries after stop() each open and close it

    async def _deliver(self, job: Job) -> list[str]:
        if not self.ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ready.wait(), READY_WAIT_S)
            if not self.ready.is_set():
                raise RetryLater(1.0, "the Matrix bot has not synced yet", backoff=True)
        assert self.sender is not None
        room_id = self.rooms.room(job.delivery.chat)
        if room_id in self._joined_here and room_id not in self._client.rooms:
            raise RetryLater(1.0, "the bot has just joined the room", backoff=True)
        return await self.sender.deliver(job, room_id)

    # ---- sync --------------------------------------------------------------------------

    async def _initial_sync(self) -> str:
        from bridge.model.errors import ServiceUnavailable

        client = self._client
        try:
            response = await client.sync(timeout=0, sync_filter=INITIAL_FILTER, full_state=True)
        except (ClientError, TimeoutError, OSError) as exc:
            raise ServiceUnavailable(
                f"matrix bot {self.id}: the homeserver is unreachable ({type(exc).__name__})"
            ) from None
        if not isinstance(response, SyncResponse):
            raise ServiceUnavailable(
                f"matrix bot {self.id}: the first sync failed ({response.status_code})"
            )
        await self._handle(response, since=None)
        await self.ctx.redis.set(self._token_key, response.next_batch)
        await self._settle()
        return response.next_batch

    async def _sync_loop(self, token: str, full_state: bool) -> None:
        client = self._client
        failures = 0
        while not self._stopping:
            try:
                response = await client.sync(
                    timeout=self.sync_timeout_ms,
                    sync_filter=sync_filter(self.user_id),
                    since=token,
                    full_state=full_state or None,
                )
                if isinstance(response, ErrorResponse):
                    if response.status_code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
                        await self._revoked()
                        return
                    if response.status_code == "M_LIMIT_EXCEEDED":
                        await asyncio.sleep(min((response.retry_after_ms or 5000) / 1000, 300))
                        continue
                    raise TransientError(f"sync answered {response.status_code}")  # noqa: TRY301
                await self._handle(response, since=token)
                await self.ctx.redis.set(self._token_key, response.next_batch)  # inbox has them
                token, full_state, failures = response.next_batch, False, 0
                if not self.ready.is_set():
                    await self._settle()
                await self._crypto_chores()
            except asyncio.CancelledError:
                raise
            except (ClientError, TimeoutError, OSError, TransientError) as exc:
                failures += 1
                wait = min(0.5 * 2**failures, MAX_SYNC_BACKOFF_S)
                log.warning("matrix bot %s: sync failed (%s); retry in %.1f s",
                            self.id, type(exc).__name__, wait)  # fmt: skip
                await asyncio.sleep(wait)
            except Exception:
                failures += 1
                wait = min(0.5 * 2**failures, MAX_SYNC_BACKOFF_S)
                log.exception("matrix bot %s: a sync could not be handled; retry in %.1f s",
                              self.id, wait)  # fmt: skip
                await asyncio.sleep(wait)

    async def _settle(self) -> None:
        """After the first sync: join the configured rooms not joined yet; ready to send."""
        await self._join_configured()
        await self._crypto_chores()
        self.ready.set()

    async def _crypto_chores(self) -> None:
        """What nio's sync_forever does between syncs: keys up, keys asked, sessions made."""
        client = self._client
        with contextlib.suppress(LocalProtocolError):
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
            await client.send_to_device_messages()

    async def _revoked(self) -> None:
        log.error("matrix bot %s: the homeserver no longer accepts its access token; this "
                  "bot stops", self.id)  # fmt: skip
        await self.ctx.notice(
            f"Matrix bot {self.id} stopped: the homeserver refused its access token (logged "
            "out or revoked?). Nothing crosses into or out of its rooms until it can log in "
            "again and translocal is restarted. The other bots go on."
        )

    @property
    def _client(self) -> AsyncClient:
        assert self.client is not None
        return self.client

    # ---- what a sync brings ------------------------------------------------------------

    async def _handle(self, response: SyncResponse, since: str | None) -> None:
        for room_id in response.rooms.invite:
            await self._invited(room_id)
        for room_id, info in response.rooms.join.items():
            chat = self.rooms.chat(room_id)
            if chat is None:
                if room_id not in self._unmapped_seen:
                    self._unmapped_seen.add(room_id)
                    log.info("matrix bot %s: room %s is not in the config; ignored",
                             self.id, room_id)  # fmt: skip
                continue
            for event in info.state:
                await self._state(room_id, chat, getattr(event, "source", {}))
            await self._note_encryption(room_id, chat)
            if since is None:
                continue  # the first start: no history
            events = list(info.timeline.events)
            joined_at = self._fresh.pop(room_id, None)
            if joined_at is not None:  # just joined: what came before is history, not relayed
                past = [e for e in events if getattr(e, "server_timestamp", 0) < joined_at]
                for event in past:  # but the room's state (its creators, ...) is read
                    source = getattr(event, "source", None)
                    if isinstance(source, dict) and "state_key" in source:
                        await self._state(room_id, chat, source)
                events = [e for e in events if e not in past]
            elif info.timeline.limited and info.timeline.prev_batch:
                events = await self._gap(room_id, since, info.timeline.prev_batch) + events
            for event in events:
                await self._event(room_id, chat, event)
        for room_id in response.rooms.leave:
            chat = self.rooms.chat(room_id)
            if chat is not None and self.rooms.room(chat) == room_id:
                log.warning("matrix bot %s: it is no longer in room %s (%s)",
                            self.id, room_id, chat)  # fmt: skip
        for room_id, chat, source in await self.parked.decrypted(self._client, self.rooms.chat):
            await self._ingest(room_id, chat, source)

    async def _gap(self, room_id: str, since: str, until: str) -> list[Any]:
        """The events between the last sync and this one's truncated timeline, oldest first."""
        events: list[Any] = []
        start: str | None = since
        while start:
            page = await self._client.room_messages(
                room_id, start=start, end=until, direction=MessageDirection.front, limit=100
            )
            if not isinstance(page, RoomMessagesResponse):
                raise TransientError(f"reading missed events failed ({page.status_code})")
            events += page.chunk
            if not page.chunk or page.end in (None, start):
                break
            start = page.end
        log.info("matrix bot %s: read %d events the last sync missed in %s",
                 self.id, len(events), room_id)  # fmt: skip
        return events

    async def _event(self, room_id: str, chat: str, event: Any) -> None:
        if isinstance(event, MegolmEvent):
            await self.parked.park(self._client, room_id, event)
            return
        source = getattr(event, "source", None)
        if not isinstance(source, dict):
            return
        if source.get("type") in ("m.room.tombstone", "m.room.create"):
            await self._state(room_id, chat, source)
            return
        if source.get("type") == "m.room.encryption":
            await self._note_encryption(room_id, chat)
        await self._ingest(room_id, chat, source)

    async def _ingest(self, room_id: str, chat: str, source: dict[str, Any]) -> None:
        room = self._client.rooms.get(room_id)
        sender = source.get("sender")
        user = room.users.get(sender) if room is not None and isinstance(sender, str) else None
        name = (user.display_name if user is not None else "") or ""
        encrypted = chat in self._encrypted or (room is not None and room.encrypted)
        where = Where(bot=self.id, chat=chat, own=self.user_id, encrypted=encrypted)
        admin = isinstance(sender, str) and (
            sender in self._creators.get(room_id, ())
            or (room is not None and room.power_levels.get_user_level(sender) >= MODERATOR_LEVEL)
        )
        incoming = read_event(source, where, name, admin=admin)
        if incoming is None:
            return
        envelope = incoming.envelope
        if incoming.fetch is not None and envelope.media is not None:
            media = await fetch_file(self._client, self.media, incoming.fetch, envelope.media)
            envelope = envelope.model_copy(update={"media": media})
        await self.ctx.emit(envelope)

    # ---- rooms -------------------------------------------------------------------------

    async def _resolve_aliases(self) -> None:
        for alias in self.rooms.unresolved():
            try:
                found = await self._client.room_resolve_alias(alias)
            except (ClientError, TimeoutError, OSError):
                continue  # the sync loop's backoff says it; the next start resolves it
            if isinstance(found, RoomResolveAliasResponse):
                await self.rooms.resolved(alias, found.room_id)
            else:
                log.warning("matrix bot %s: alias %s does not resolve (%s)",
                            self.id, alias, found.status_code)  # fmt: skip

    async def _join_configured(self) -> None:
        await self._resolve_aliases()
        for chat in self.rooms.chats:
            room_id = self.rooms.room(chat)
            if room_id is not None and (room_id in self._client.rooms or
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

    async def _invited(self, room_id: str) -> None:
        if self.rooms.chat(room_id) is None and self.rooms.unresolved():
            await self._resolve_aliases()
        chat = self.rooms.chat(room_id)
        if chat is None:
            log.warning("matrix bot %s: invited to room %s, which is not in the config; "
                        "declined", self.id, room_id)  # fmt: skip
            await self._client.room_leave(room_id)
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

    async def _state(self, room_id: str, chat: str, source: dict[str, Any]) -> None:
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
            f"Matrix room {chat} ({room_id}) was upgraded to {new}, and bot {self.id} cannot "
            f"join it ({joined.status_code}): invite it there; it follows the room once in."
        )

    def _created(self, room_id: str, source: dict[str, Any]) -> None:
        """From room version 12 on, a room's creators outrank every power level."""
        content = source.get("content")
        content = content if isinstance(content, dict) else {}
        if str(content.get("room_version", "1")) in _LEGACY_VERSIONS:
            return
        extra = content.get("additional_creators")
        creators = {source.get("sender"), *(extra if isinstance(extra, list) else [])}
        self._creators[room_id] = {c for c in creators if isinstance(c, str)}

    async def _join(self, room: str) -> JoinResponse | ErrorResponse:
        """Join a room (id or alias); its first sync then brings no history."""
        before = int(time.time() * 1000)
        joined = await self._client.join(room)
        if isinstance(joined, JoinResponse):
            self._fresh[joined.room_id] = before
        return cast(JoinResponse | ErrorResponse, joined)

    async def _joined(self, room_id: str, chat: str) -> None:
        self._joined_here.add(room_id)
        where = Where(bot=self.id, chat=chat, own=self.user_id)
        await self.ctx.emit(joined(where, room_id))

    async def _followed(self, chat: str, old: str, new: str) -> None:
        await self.rooms.moved(chat, old, new)
        self._joined_here.add(new)
        log.warning("matrix bot %s: room %s was upgraded to %s; following it",
                    self.id, old, new)  # fmt: skip
        fix = "" if chat.startswith("#") else f" Set rooms[].chat to {new} in the config."
        await self.ctx.notice(
            f"Matrix room {chat} was upgraded: {old} is now {new}. Translocal follows it.{fix}"
        )

    async def _note_encryption(self, room_id: str, chat: str) -> None:
        room = self._client.rooms.get(room_id)
        if room is not None and room.encrypted and chat not in self._encrypted:
            self._encrypted.add(chat)
            await self.ctx.redis.sadd(self._encrypted_key, chat)
            log.info("matrix bot %s: room %s is encrypted", self.id, chat)
