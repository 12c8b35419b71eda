"""/healthz for a Matrix bot: it fails, naming the bot, while the homeserver is down (this
test's own Synapse, stopped and started again) or refuses the bot's token, and says ok again
once the homeserver is back."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio
from nio import AsyncClient, LoginResponse, LogoutResponse

from bridge.app import App
from sandbox.synapse import SynapseServer
from tests.bots.test_matrix import bot_user, config, matrix_bot
from tests.harness import eventually_async, running_app
from tests.synapse_fixture import PASSWORD, create_room, member


@pytest.fixture
async def own_synapse(tmp_path: Path) -> AsyncIterator[SynapseServer]:
    async with SynapseServer(tmp_path / "hs") as server:
        yield server


async def two_rooms(synapse: SynapseServer, bot: str) -> list[dict[str, str]]:
    """Two rooms of a member's, the bot invited to both."""
    async with member(synapse, "ana", display="Ana") as ana:
        berlin = await create_room(ana, invite=(bot,))
        wien = await create_room(ana, invite=(bot,))
        return [
            {"id": "berlin", "bot": "mx", "chat": berlin, "language": "es", "label": "Berlin"},
            {"id": "wien", "bot": "mx", "chat": wien, "language": "es", "label": "Wien"},
        ]


def bot_token(tmp_path: Path) -> str:
    session = json.loads((tmp_path / "data" / "matrix" / "mx" / "session.json").read_text())
    return str(session["access_token"])


async def test_healthz_fails_naming_the_bot_while_the_homeserver_is_down_and_recovers(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str,
    own_synapse: SynapseServer,
) -> None:  # fmt: skip
    synapse = own_synapse
    bot = await bot_user(synapse)
    rooms = await two_rooms(synapse, bot)
    port = free_port()
    healthz = f"http://127.0.0.1:{port}/healthz"
    loaded = config(tmp_path, redis_url, [matrix_bot(synapse, bot)], rooms)

    async with running_app(App(loaded, metrics=("127.0.0.1", port))):
        await eventually_async(lambda: healthy(healthz), what="healthy once synced")
        await synapse.stop()
        try:
            await eventually_async(lambda: unhealthy(healthz), what="an unhealthy answer")
            status, body = await get(healthz)
            assert status == 503
            assert body.startswith("bot mx: homeserver not answering (")
            assert body.count("\n") == 1  # one line: the bot's; Redis is well
            assert bot_token(tmp_path) not in body
        finally:
            await synapse.start()
        await eventually_async(lambda: healthy(healthz), timeout=30, what="healthy again")


async def test_healthz_fails_when_the_homeserver_no_longer_takes_the_bots_token(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    rooms = await two_rooms(synapse, bot)
    port = free_port()
    healthz = f"http://127.0.0.1:{port}/healthz"
    loaded = config(tmp_path, redis_url, [matrix_bot(synapse, bot)], rooms)

    async with running_app(App(loaded, metrics=("127.0.0.1", port))):
        await eventually_async(lambda: healthy(healthz), what="healthy once synced")
        token = bot_token(tmp_path)
        # the bot's owner logs every device of the bot's account out (its token goes too)
        owner = AsyncClient(synapse.url, bot)
        try:
            assert isinstance(await owner.login(PASSWORD), LoginResponse)
            assert isinstance(await owner.logout(all_devices=True), LogoutResponse)
        finally:
            await owner.close()
        await eventually_async(lambda: unhealthy(healthz), what="an unhealthy answer")
        status, body = await get(healthz)
    assert status == 503
    assert body == "bot mx: the homeserver refused the bot's access token\n"
    assert token not in body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        return answer.status, await answer.text()


async def healthy(url: str) -> bool:
    return (await get(url)) == (200, "ok\n")


async def unhealthy(url: str) -> bool:
    return (await get(url))[0] == 503
