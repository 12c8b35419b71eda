"""The Synapse launcher, with a real Synapse and real matrix-nio clients.

The run's one Synapse (tests/synapse_fixture.py) serves the module; the restart, pause and
failure tests start their own in a tmp dir so the shared one never blinks.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    LoginResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from sandbox.synapse import SynapseServer

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASSWORD = "correct horse battery staple"
ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}


@contextlib.asynccontextmanager
async def nio_client(
    synapse: SynapseServer, username: str, store: Path | None = None
) -> AsyncIterator[AsyncClient]:
    """A registered, logged-in matrix-nio client (end-to-end encryption on when `store`)."""
    user_id = await synapse.register(username, PASSWORD)
    config = AsyncClientConfig(
        max_limit_exceeded=3,
        max_timeouts=3,
        request_timeout=15,
        encryption_enabled=store is not None,
        store_sync_tokens=store is not None,
    )
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)
    client = AsyncClient(synapse.url, user_id, store_path=str(store or ""), config=config)
    try:
        assert isinstance(await client.login(PASSWORD), LoginResponse)
        if store is not None and client.should_upload_keys:
            await client.keys_upload()
        yield client
    finally:
        await client.close()


async def sync_until(client: AsyncClient, done: Callable[[], bool], seconds: float = 15.0) -> None:
    """Sync until `done()` is true."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out waiting on sync"
        assert isinstance(await client.sync(timeout=500), SyncResponse)


async def next_text(client: AsyncClient, room_id: str, seconds: float = 15.0) -> RoomMessageText:
    """Sync until a text message arrives in `room_id`; fail on one that cannot be decrypted."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = await client.sync(timeout=500)
        assert isinstance(response, SyncResponse)
        room = response.rooms.join.get(room_id)
        for event in room.timeline.events if room else []:
            assert not isinstance(event, MegolmEvent), "a message could not be decrypted"
            if isinstance(event, RoomMessageText):
                return event
    raise AssertionError("no message arrived")


async def test_it_starts_and_answers_versions(synapse: SynapseServer) -> None:
    assert synapse.url == f"http://127.0.0.1:{synapse.port}"
    assert synapse.server_name == "localhost"
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.get(f"{synapse.url}/_matrix/client/versions")
    assert response.status_code == 200
    assert response.json()["versions"]


async def test_register_is_idempotent_and_login_gives_a_token(synapse: SynapseServer) -> None:
    assert await synapse.register("reggie", PASSWORD, displayname="Reggie") == "@reggie:localhost"
    assert await synapse.register("reggie", PASSWORD) == "@reggie:localhost"
    assert await synapse.register("boss", PASSWORD, admin=True) == "@boss:localhost"
    token = await synapse.login("@reggie:localhost", PASSWORD)
    async with httpx.AsyncClient(trust_env=False) as http:
        whoami = await http.get(
            f"{synapse.url}/_matrix/client/v3/account/whoami",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert whoami.json()["user_id"] == "@reggie:localhost"
    with pytest.raises(RuntimeError, match="login of @reggie:localhost failed"):
        await synapse.login("@reggie:localhost", "wrong")


async def test_a_message_goes_from_one_client_to_the_other(synapse: SynapseServer) -> None:
    async with nio_client(synapse, "ana") as ana, nio_client(synapse, "ben") as ben:
        created = await ana.room_create(name="plain", invite=[ben.user_id])
        assert isinstance(created, RoomCreateResponse)
        await sync_until(ben, lambda: created.room_id in ben.invited_rooms)
        assert isinstance(await ben.join(created.room_id), JoinResponse)
        await ben.sync(timeout=0)  # past the join: what comes next is the message
        content = {"msgtype": "m.text", "body": "Asamblea el jueves"}
        sent = await ana.room_send(created.room_id, "m.room.message", content)
        assert isinstance(sent, RoomSendResponse)
        message = await next_text(ben, created.room_id)
    assert message.body == "Asamblea el jueves"
    assert message.sender == "@ana:localhost"


async def test_an_encrypted_message_is_decrypted_by_the_other(
    synapse: SynapseServer, tmp_path: Path
) -> None:
    async with (
        nio_client(synapse, "cleo", tmp_path / "cleo") as cleo,
        nio_client(synapse, "dan", tmp_path / "dan") as dan,
    ):
        created = await cleo.room_create(
            name="secret", invite=[dan.user_id], initial_state=[ENCRYPTION]
        )
        assert isinstance(created, RoomCreateResponse)
        await sync_until(dan, lambda: created.room_id in dan.invited_rooms)
        assert isinstance(await dan.join(created.room_id), JoinResponse)
        await dan.sync(timeout=0)
        room = created.room_id
        await sync_until(cleo, lambda: room in cleo.rooms and dan.user_id in cleo.rooms[room].users)
        assert cleo.rooms[room].encrypted
        content = {"msgtype": "m.text", "body": "Bloqueo mañana a las 7"}
        # room_send queries Dan's device keys, claims a one-time key and shares the session
        sent = await cleo.room_send(room, "m.room.message", content, ignore_unverified_devices=True)
        assert isinstance(sent, RoomSendResponse)
        message = await next_text(dan, room)
    assert message.body == "Bloqueo mañana a las 7"
    assert message.decrypted


def _gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)  # anything left in its process group?
    except ProcessLookupError:
        return True
    return False


async def test_restart_on_the_same_directory_keeps_users_and_stop_leaves_nothing(
    tmp_path: Path,
) -> None:
    server = SynapseServer(tmp_path / "hs")
    await server.start()
    url, first_pid = server.url, server.pid
    assert first_pid is not None
    user_id = await server.register("erin", PASSWORD)
    secrets_before = (tmp_path / "hs" / "secrets.json").read_text()
    await server.stop()
    assert _gone(first_pid)
    assert server.pid is None
    await server.stop()  # idempotent

    await server.start()
    try:
        assert server.url == url
        assert server.pid not in (None, first_pid)
        assert (tmp_path / "hs" / "secrets.json").read_text() == secrets_before
        assert await server.login(user_id, PASSWORD)

        second_pid = server.pid
        assert second_pid is not None
        # pause: connections hang; resume: answered again
        await server.pause()
        async with httpx.AsyncClient(trust_env=False, timeout=0.5) as http:
            with pytest.raises(httpx.TimeoutException):
                await http.get(f"{url}/_matrix/client/versions")
            await server.resume()
            assert (await http.get(f"{url}/_matrix/client/versions")).status_code == 200
        await server.pause()  # stop() must still end a paused server promptly
    finally:
        started = time.monotonic()
        await server.stop()
    assert time.monotonic() - started < 5
    assert _gone(second_pid)


async def test_an_early_exit_raises_with_the_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = SynapseServer(tmp_path / "hs", port=taken.getsockname()[1])
        with pytest.raises(RuntimeError, match="Synapse exited early") as raised:
            await server.start(timeout=30)
    assert "Address already in use" in str(raised.value)
    assert server.pid is None
