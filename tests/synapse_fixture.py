"""One real Synapse for the whole test run, and members who use it through matrix-nio.

``synapse`` is session-scoped and plain (not bound to an event loop): the launcher's calls
each open their own HTTP client, so any test's loop can use it. Every module that needs a
homeserver imports this fixture; the server is started once and shared, however many
modules import it. Tests register fresh users and rooms (``unique``), so they never meet.
A test that stops its homeserver starts one of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    LocalProtocolError,
    LoginResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomRedactResponse,
    RoomSendResponse,
    SyncResponse,
)
from nio.api import MessageDirection, RoomPreset

from sandbox.synapse import SynapseServer

PASSWORD = "correct horse battery staple"
ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}
_SHARED: dict[str, Any] = {"server": None, "users": 0}
_EVERYTHING = {"room": {"timeline": {"limit": 1000}}}  # a member reads every message


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynapseServer]:
    """The run's one Synapse (started on first use, stopped when its last user is done)."""
    server: SynapseServer | None = _SHARED["server"]
    if server is None:
        server = SynapseServer(tmp_path_factory.mktemp("synapse"))
        asyncio.run(server.start())
        _SHARED["server"] = server
    _SHARED["users"] += 1
    yield server
    _SHARED["users"] -= 1
    if not _SHARED["users"]:
        asyncio.run(server.stop())
        _SHARED["server"] = None


def unique(name: str) -> str:
    """A user name no other test uses."""
    return f"{name}{uuid.uuid4().hex[:8]}"


class Member:
    """A person in Matrix rooms, through a real matrix-nio client (with e2e when it has a
    store). ``events`` collects what it has seen per room, as the event JSON (decrypted)."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.user_id = client.user_id
        self.events: dict[str, list[dict[str, Any]]] = {}
        self._ids: set[str | None] = set()

    async def sync(self, timeout_ms: int = 300) -> None:
        since = self.client.next_batch
        try:
            response = await self.client.sync(timeout=timeout_ms, sync_filter=_EVERYTHING)
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.2)
                return
            missed = await self._missed(response, since)
        except (OSError, TimeoutError):  # the homeserver is down: nothing new
            self.client.next_batch = since  # this sync again, then
            await asyncio.sleep(0.2)
            return
        for room_id, info in response.rooms.join.items():
            seen = self.events.setdefault(room_id, [])
            for event in [*missed.get(room_id, []), *info.timeline.events]:
                event_id = getattr(event, "event_id", None)
                if event_id in self._ids:
                    continue  # a sync repeated after a failure: the same event, once
                self._ids.add(event_id)
                if isinstance(event, MegolmEvent):
                    seen.append({"type": "undecryptable", "event_id": event.event_id})
                else:  # as sent; "decrypted" is ours: it came encrypted and was decrypted
                    seen.append({**event.source, "decrypted": bool(getattr(event, "decrypted", 0))})
        with contextlib.suppress(LocalProtocolError):
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
            if self.client.should_claim_keys:
                await self.client.keys_claim(self.client.get_users_for_key_claiming())
            await self.client.send_to_device_messages()

    async def _missed(self, response: SyncResponse, since: str) -> dict[str, list[Any]]:
        """What a sync left out of a room's timeline (it showed the last events only), as a
        client scrolling back shows it."""
        missed: dict[str, list[Any]] = {}
        for room_id, info in response.rooms.join.items():
            if not (since and info.timeline.limited and info.timeline.prev_batch):
                continue
            start: str | None = since
            while start:
                page = await self.client.room_messages(
                    room_id, start=start, end=info.timeline.prev_batch,
                    direction=MessageDirection.front, limit=100,
                )  # fmt: skip
                if not isinstance(page, RoomMessagesResponse) or not page.chunk:
                    break
                missed.setdefault(room_id, []).extend(page.chunk)
                start = page.end if page.end != start else None
        return missed

    async def wait_for(
        self, room_id: str, check: Callable[[list[dict[str, Any]]], bool], seconds: float = 30
    ) -> list[dict[str, Any]]:
        """Sync until ``check`` holds for the events seen in the room; those events."""
        deadline = time.monotonic() + seconds
        while not check(self.events.get(room_id, [])):
            if time.monotonic() > deadline:
                shown = [_brief(e) for e in self.events.get(room_id, [])][-20:]
                raise AssertionError(f"{self.user_id} waited in vain in {room_id}: {shown}")
            await self.sync()
        return self.events.get(room_id, [])

    async def send(
        self, room_id: str, content: dict[str, Any], kind: str = "m.room.message"
    ) -> str:
        """Send until the homeserver takes it (one transaction id: never twice)."""
        txn = uuid.uuid4().hex
        deadline = time.monotonic() + 60
        while True:
            try:
                response = await self.client.room_send(
                    room_id, kind, content, tx_id=txn, ignore_unverified_devices=True
                )
            except (OSError, TimeoutError):
                response = None
            if isinstance(response, RoomSendResponse):
                return str(response.event_id)
            status = getattr(getattr(response, "transport_response", None), "status", 500)
            assert status >= 500 or status == 429, f"sending failed: {response}"
            assert time.monotonic() < deadline, f"sending failed: {response}"
            await asyncio.sleep(0.2)

    async def say(
        self,
        room_id: str,
        body: str,
        *,
        html: str | None = None,
        reply_to: str | None = None,
        msgtype: str = "m.text",
    ) -> str:
        content: dict[str, Any] = {"msgtype": msgtype, "body": body}
        if html is not None:
            content.update(format="org.matrix.custom.html", formatted_body=html)
        if reply_to is not None:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self.send(room_id, content)

    async def edit(self, room_id: str, event_id: str, body: str) -> str:
        new = {"msgtype": "m.text", "body": body}
        content = {**new, "body": f"* {body}", "m.new_content": new,
                   "m.relates_to": {"rel_type": "m.replace", "event_id": event_id}}  # fmt: skip
        return await self.send(room_id, content)

    async def redact(self, room_id: str, event_id: str) -> None:
        response = await self.client.room_redact(room_id, event_id)
        assert isinstance(response, RoomRedactResponse), response

    async def join(self, room_id: str) -> None:
        deadline = time.monotonic() + 30
        while room_id not in self.client.invited_rooms and room_id not in self.client.rooms:
            assert time.monotonic() < deadline, f"{self.user_id} was never invited to {room_id}"
            await self.sync()
        response = await self.client.join(room_id)
        assert isinstance(response, JoinResponse), response
        await self.sync(0)


def _brief(event: dict[str, Any]) -> str:
    content = event.get("content") or {}
    return f"{event.get('type')}:{event.get('sender')}:{str(content.get('body', ''))[:40]!r}"


def texts(events: list[dict[str, Any]], sender: str | None = None) -> list[dict[str, Any]]:
    """The messages (not edits) among ``events``, from ``sender`` when given."""
    return [
        e["content"]
        for e in events
        if e.get("type") == "m.room.message"
        and (sender is None or e.get("sender") == sender)
        and (e.get("content") or {}).get("m.relates_to", {}).get("rel_type") != "m.replace"
        and "body" in (e.get("content") or {})
    ]


@contextlib.asynccontextmanager
async def member(
    synapse: SynapseServer, name: str, *, store: Path | None = None, display: str | None = None
) -> AsyncIterator[Member]:
    """A fresh registered user, logged in (end-to-end encryption on when ``store``)."""
    user_id = await synapse.register(unique(name), PASSWORD, displayname=display or name)
    config = AsyncClientConfig(
        max_limit_exceeded=3,
        max_timeouts=1,
        request_timeout=10,
        encryption_enabled=store is not None,
        store_sync_tokens=False,
    )
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(synapse.url, user_id, store_path=str(store or ""), config=config)
    try:
        assert isinstance(await client.login(PASSWORD), LoginResponse)
        if store is not None and client.should_upload_keys:
            await client.keys_upload()
        person = Member(client)
        await person.sync(0)
        yield person
    finally:
        await client.close()


async def create_room(
    owner: Member, *others: Member, invite: tuple[str, ...] = (), encrypted: bool = False,
    alias: str | None = None, public: bool = False,
) -> str:  # fmt: skip
    """A room of ``owner`` that ``others`` have joined and ``invite`` (user ids) are invited to;
    ``alias`` is the local part of an alias (``#<alias>:localhost``)."""
    response = await owner.client.room_create(
        alias=alias,
        name=alias or "room",
        invite=[m.user_id for m in others] + list(invite),
        initial_state=[ENCRYPTION] if encrypted else [],
        preset=RoomPreset.public_chat if public else RoomPreset.private_chat,
    )
    assert isinstance(response, RoomCreateResponse), response
    room_id = str(response.room_id)
    for other in others:
        await other.join(room_id)
    for person in (owner, *others):
        for other in (owner, *others):
            await joined(person, room_id, other.user_id)
    return room_id


async def joined(person: Member, room_id: str, user_id: str, seconds: float = 30) -> None:
    """Sync ``person`` until ``user_id`` is a member of the room."""

    def there(_: list[dict[str, Any]]) -> bool:
        room = person.client.rooms.get(room_id)
        return room is not None and user_id in room.users

    await person.wait_for(room_id, there, seconds)


async def knows_devices(person: Member, user_id: str, seconds: float = 30) -> None:
    """Sync (asking for keys) until ``person``'s client knows ``user_id``'s devices, as a
    client that follows device lists does before it encrypts for a new member."""
    deadline = time.monotonic() + seconds
    while not list(person.client.device_store.active_user_devices(user_id)):
        assert time.monotonic() < deadline, f"{person.user_id} never learned {user_id}'s devices"
        assert person.client.olm is not None
        person.client.olm.users_for_key_query.add(user_id)
        await person.sync(0)
