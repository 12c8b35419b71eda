"""The Matrix bot: matrix-nio 0.26 with end-to-end encryption, inside translocal's own loop.

- One device for good (bots/matrix/session.py), so its encryption keys and the transaction
  ids the homeserver remembers survive restarts.
- Our own sync loop. The sync token lives in Redis and moves only after the envelopes of that
  sync are in the inbox; a restart resumes from it (with the rooms' full state), a gap in a
  room's timeline is paged through, and the first start ever skips history. A failing
  homeserver is retried with capped backoff; it never stops the bot.
- Invites, joins, aliases, room upgrades, creators and encrypted rooms are kept by
  bots/matrix/membership.py (room ids by bots/matrix/rooms.py). A room the bot has just
  joined brings no history across: only what follows the join.
- Events become envelopes in bots/matrix/ingest.py (poll events in bots/matrix/polls.py,
  which needs the bot's record of its own polls); their files are fetched (and decrypted)
  in bots/matrix/fetch.py, within a bounded time: a file that cannot be had crosses as a
  note, and the events after it are not held up. An event that cannot be decrypted yet
  waits in Redis (ciphertext only) until its key arrives (bots/matrix/parked.py).
- Deliveries go out in bots/matrix/send.py. ``stop()`` ends the sync; the client is closed by
  ``stop()`` when no delivery is under way, else by the last one, and by ``close()`` (which
  may be called any number of times).
- ``health()`` asks the homeserver who the bot is (a ``whoami``, on its own short timeout):
  None when it answers and takes the bot's token, else one line for /healthz.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, cast

from aiohttp import ClientError
from nio import (
    AsyncClient,
    ErrorResponse,
    LocalProtocolError,
    MegolmEvent,
    RoomMessagesResponse,
    SyncResponse,
)
from nio.api import MessageDirection

from bots.matrix import polls
from bots.matrix.fetch import FileFetcher, TransientError
from bots.matrix.ingest import Where, read_event
from bots.matrix.membership import Membership
from bots.matrix.parked import Parked
from bots.matrix.pending import Pending
from bots.matrix.rooms import RoomMap
from bots.matrix.send import SendContext, Sender
from bots.matrix.session import REFUSED, open_client, token_trouble
from bots.matrix.settings import MatrixSettings
from bridge.model import keys
from bridge.model.i18n import _
from bridge.model.media import MediaStore
from bridge.model.ports import BotContext, Job, RetryLater
from bridge.model.settings import RoomConfig

log = logging.getLogger(__name__)

_QUIET = {"not_types": ["*"]}
INITIAL_FILTER = {"presence": _QUIET, "account_data": _QUIET,
                  "room": {"timeline": {"limit": 1}, "ephemeral": _QUIET,
                           "account_data": _QUIET}}  # fmt: skip

MAX_SYNC_BACKOFF_S = 15.0
READY_WAIT_S = 30.0
HEALTH_TIMEOUT_S = 3.0  # within the 5 s /healthz gives each bot
MODERATOR_LEVEL = 50  # a moderator of a Matrix room (design.md, in-chat commands)


def sync_filter(own: str) -> dict[str, Any]:
    """What the bot syncs: room timelines and state, up to 100 events a sync (a gap beyond
    is paged), without its own events (they never re-enter; and a send then wakes no sync
    of ours), typing, receipts, presence or account data."""
    room = {"timeline": {"limit": 100, "not_senders": [own]}, "ephemeral": _QUIET,
            "account_data": _QUIET}  # fmt: skip
    return {"presence": _QUIET, "account_data": _QUIET, "room": room}


class MatrixBot:
    def __init__(self, ctx: BotContext[MatrixSettings]) -> None:
        settings = ctx.settings
        self.id: str = settings.id
        self.ctx = ctx
        self.settings = settings
        self.user_id: str = settings.user_id
        self.sync_timeout_ms = settings.sync_timeout_ms
        self.max_upload = settings.max_upload
        self.rooms = RoomMap(ctx.redis, self.id, [r.chat for r in ctx.rooms])
        self.membership = Membership(ctx, self.rooms, lambda: self._client)
        self.pending = self.membership.pending = Pending(ctx, lambda: self._client, lambda room:
                                                         self.rooms.serve([*self.rooms.chats,
                                                                           room.chat]))  # fmt: skip
        self.media = MediaStore(ctx.redis, ctx.media_ttl_s)
        self.files = FileFetcher(lambda: self._client, self.media, settings.file_retry_s)
        self.client: AsyncClient | None = None
        self.ready = asyncio.Event()
        self.sender: Sender | None = None
        self._syncer: asyncio.Task[None] | None = None
        self._token_key = keys.bot_state(self.id, "next_batch")
        self.parked = Parked(ctx.redis, self.id)
        self._unmapped_seen: set[str] = set()
        self._stopping = False
        self._in_flight = 0  # deliveries under way (the last one after stop() closes the client)

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
        await self.membership.load()
        await self.membership.resolve_aliases()
        token = cast(str | None, await self.ctx.redis.get(self._token_key))
        await self.parked.load()
        # leaves rooms nobody linked in time; before the first sync, whose invites it reads
        self.pending.start()
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
        await self.pending.stop()
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
        """Release the client once the deliverer has drained. stop() or the last delivery
        in flight has usually closed it already; closing again does nothing."""
        await self.stop()  # nothing left to do when it has been stopped
        if self.client is not None:
            await self.client.close()

    async def health(self) -> str | None:
        """None when the homeserver answers and takes the bot's access token, and the sync
        runs; else why not, in one line (never the token, never a body)."""
        client = self.client
        if client is None or not client.access_token:
            return "not logged in to the homeserver"
        trouble = await token_trouble(self.settings.homeserver, client.access_token,
                                      HEALTH_TIMEOUT_S)  # fmt: skip
        return trouble or self._sync_trouble()

    def _sync_trouble(self) -> str | None:
        syncer = self._syncer
        if syncer is not None and syncer.done() and not self._stopping:
            return "the sync loop stopped"
        return None

    def _sync_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("matrix bot %s: the sync loop stopped on an error", self.id,
                      exc_info=task.exception())  # fmt: skip

    async def serve(self, rooms: list[RoomConfig]) -> None:
        """Read the chats of ``rooms`` from now on, and no other; join those not joined."""
        self.rooms.serve([r.chat for r in rooms])
        if self.ready.is_set():
            await self.membership.join_configured()

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
        if room_id is not None and self.membership.just_joined(room_id, self._client):
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
                    if response.status_code in REFUSED:
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
        await self.membership.join_configured()
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
            _("Matrix bot {bot} stopped: the homeserver refused its access token (logged "
              "out or revoked?). Nothing crosses into or out of its rooms until it can log in "
              "again and translocal is restarted. The other bots go on.", bot=self.id)
        )  # fmt: skip

    @property
    def _client(self) -> AsyncClient:
        assert self.client is not None
        return self.client

    # ---- what a sync brings ------------------------------------------------------------

    async def _handle(self, response: SyncResponse, since: str | None) -> None:
        for room_id in response.rooms.invite:
            await self.membership.invited(room_id)
        for room_id, info in response.rooms.join.items():
            chat = self.rooms.chat(room_id)
            if chat is None and await self.pending.synced(
                room_id, list(info.timeline.events), self.membership.joined_at(room_id)
            ):
                continue  # it waits for a link: nothing else of it is read
            if chat is None:
                if room_id not in self._unmapped_seen:
                    self._unmapped_seen.add(room_id)
                    log.info("matrix bot %s: room %s is not in the config; ignored",
                             self.id, room_id)  # fmt: skip
                continue
            for event in info.state:
                await self.membership.state(room_id, chat, getattr(event, "source", {}))
            await self.membership.note_encryption(room_id, chat)
            if since is None:
                continue  # the first start: no history
            events = list(info.timeline.events)
            joined_at = self.membership.joined_at(room_id)
            if joined_at is not None:  # just joined: what came before is history, not relayed
                past = [e for e in events if getattr(e, "server_timestamp", 0) < joined_at]
                for event in past:  # but the room's state (its creators, ...) is read
                    source = getattr(event, "source", None)
                    if isinstance(source, dict) and "state_key" in source:
                        await self.membership.state(room_id, chat, source)
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
            await self.membership.state(room_id, chat, source)
            return
        if source.get("type") == "m.room.encryption":
            await self.membership.note_encryption(room_id, chat)
        await self._ingest(room_id, chat, source)

    async def _ingest(self, room_id: str, chat: str, source: dict[str, Any]) -> None:
        room = self._client.rooms.get(room_id)
        sender = source.get("sender")
        user = room.users.get(sender) if room is not None and isinstance(sender, str) else None
        name = (user.display_name if user is not None else "") or ""
        encrypted = chat in self.membership.encrypted or (room is not None and room.encrypted)
        where = Where(bot=self.id, chat=chat, own=self.user_id, encrypted=encrypted)
        admin = isinstance(sender, str) and (
            self.membership.is_creator(room_id, sender)
            or (room is not None and room.power_levels.get_user_level(sender) >= MODERATOR_LEVEL)
        )
        if source.get("type") in polls.POLL_EVENTS:  # a poll, or a vote on one of the bot's
            found = await polls.read(self.ctx.redis, room_id, source, where, name, admin=admin)
            if found is not None:
                await self.ctx.emit(found)
            return
        incoming = read_event(source, where, name, admin=admin)
        if incoming is None:
            return
        envelope = incoming.envelope
        fetch, media = incoming.fetch, envelope.media
        if fetch and media and await self.ctx.may_carry(envelope.chat, envelope.sender.id):
            media = await self.files.fetch(fetch, media)  # bounded
            envelope = envelope.model_copy(update={"media": media})
        await self.ctx.emit(envelope)
