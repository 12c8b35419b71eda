"""`translocal check` for Matrix rooms, against the real Synapse."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
from nio import RoomPutStateResponse

from bots.matrix.check import check_rooms
from bridge.config.load import load_config
from sandbox.synapse import SynapseServer
from tests.bots.test_matrix import bot_user
from tests.helpers import run_cli, write_config
from tests.synapse_fixture import PASSWORD, create_room, joined, member, unique


async def checked(tmp_path: Path, bot: dict[str, Any], chats: dict[str, str]) -> dict[str, Any]:
    rooms = [{"id": name, "bot": "mx", "chat": chat, "language": "es", "label": name}
             for name, chat in chats.items()]  # fmt: skip
    cfg: dict[str, object] = {"bots": [bot], "rooms": rooms}
    loaded = load_config(write_config(tmp_path / "check.yaml", cfg), env={})
    settings = loaded.config.bots[0]
    return {r.room: r for r in await check_rooms(settings, loaded.config.rooms_of("mx"))}


def bot_entry(synapse: SynapseServer, user_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": "mx", "platform": "matrix", "homeserver": synapse.url, "user_id": user_id,
            "password": PASSWORD, **extra}  # fmt: skip


async def devices(synapse: SynapseServer, token: str) -> list[str]:
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.get(f"{synapse.url}/_matrix/client/v3/devices",
                                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    return [d["device_id"] for d in response.json()["devices"]]


async def test_check_reports_membership_power_and_encryption_with_fixes(
    tmp_path: Path, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    alias = unique("plaza")
    async with member(synapse, "ana") as ana:
        plain = await create_room(ana, invite=(bot,), alias=alias)
        secret = await create_room(ana, invite=(bot,), encrypted=True)
        muted = await create_room(ana, invite=(bot,))
        invited = await create_room(ana, invite=(bot,))
        elsewhere = await create_room(ana)
        token = await synapse.login(bot, PASSWORD)
        async with httpx.AsyncClient(trust_env=False) as http:
            auth = {"Authorization": f"Bearer {token}"}
            for room in (plain, secret, muted):
                response = await http.post(f"{synapse.url}/_matrix/client/v3/join/{room}",
                                           headers=auth, json={})  # fmt: skip
                assert response.status_code == 200
        await joined(ana, muted, bot)
        content = {"events_default": 50, "users_default": 0}  # ana created it: she outranks all
        put = await ana.client.room_put_state(muted, "m.room.power_levels", content)
        assert isinstance(put, RoomPutStateResponse), put
        before = await devices(synapse, token)

        found = await checked(tmp_path, bot_entry(synapse, bot), {
            "plain": f"#{alias}:localhost", "secret": secret, "muted": muted,
            "invited": invited, "elsewhere": elsewhere, "nowhere": "#nowhere:localhost",
        })  # fmt: skip

    assert found["plain"].ok, found["plain"].detail
    assert found["plain"].detail == (
        f"matrix #{alias}:localhost ({plain}): member, power level 0, can post and redact its "
        "copies, not encrypted; call-outs with pin: true stay unpinned here: pinning needs "
        "power level 50 (raise the bot's level to pin them)"
    )
    assert found["secret"].ok
    assert "encrypted (the bot decrypts it)" in found["secret"].detail
    assert not found["muted"].ok
    assert "posting needs 50" in found["muted"].detail
    assert not found["invited"].ok
    assert "invited" in found["invited"].detail
    assert "translocal run" in found["invited"].detail
    assert not found["elsewhere"].ok
    assert f"invite {bot}" in found["elsewhere"].detail
    assert not found["nowhere"].ok
    assert "does not resolve" in found["nowhere"].detail
    assert await devices(synapse, token) == before  # the check's own device is gone again


async def test_check_says_when_credentials_are_refused_or_the_server_is_unreachable(
    tmp_path: Path, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    found = await checked(tmp_path, {**bot_entry(synapse, bot), "password": "wrong-password"},
                          {"a": "!a:localhost"})  # fmt: skip
    assert not found["a"].ok
    assert "refused the login" in found["a"].detail
    assert "wrong-password" not in found["a"].detail
    no_pw = {k: v for k, v in bot_entry(synapse, bot).items() if k != "password"}
    found = await checked(tmp_path, {**no_pw, "access_token": "syt_not_a_real_token_12345"},
                          {"a": "!a:localhost"})  # fmt: skip
    assert "refused the access token" in found["a"].detail
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    found = await checked(tmp_path, {**bot_entry(synapse, bot),
                                     "homeserver": f"http://127.0.0.1:{port}"},
                          {"a": "!a:localhost"})  # fmt: skip
    assert "unreachable" in found["a"].detail


def test_run_exits_4_when_the_homeserver_is_unreachable_or_refuses_the_login(
    tmp_path: Path, redis_url: str, synapse: SynapseServer
) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    room = {"id": "a", "bot": "mx", "chat": "!a:localhost", "language": "es", "label": "A"}
    for homeserver, password, says in (
        (f"http://127.0.0.1:{port}", PASSWORD, "unreachable"),
        (synapse.url, "not-the-password", "refused the login"),
    ):
        bot = {"id": "mx", "platform": "matrix", "homeserver": homeserver,
               "user_id": "@nobody:localhost", "password": password}  # fmt: skip
        cfg: dict[str, object] = {"data_dir": str(tmp_path / "d"), "redis": {"url": redis_url},
                                  "bots": [bot], "rooms": [room]}  # fmt: skip
        result = run_cli("run", "-c", str(write_config(tmp_path / "c.yaml", cfg)))
        assert result.returncode == 4, result.stderr
        assert says in result.stderr
        assert password not in result.stderr
        assert "Traceback" not in result.stderr
