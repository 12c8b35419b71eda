"""What an operator sees: /metrics moving during a relay run over the sandbox Bot API server,
and /healthz following the Bot API server going away and coming back."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio

from bridge.app import App
from sandbox.telegram import BotApiServer
from tests.bots.test_telegram import ANA, BERLIN, CDMX, config, telegram_world
from tests.harness import eventually, eventually_async, running_app
from tests.helpers import BODY_CANARY
from tests.memory_bot import NETWORK


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with telegram_world() as server:
        yield server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample(body: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for line in body.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        return answer.status, await answer.text()


async def test_metrics_move_with_the_traffic_and_carry_no_ids_or_text(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with running_app(App(config(tmp_path, redis_url, tg), metrics=("127.0.0.1", port))):
        before = (await get(f"{base}/metrics"))[1]
        for i in range(3):
            tg.post(CDMX, ANA, f"Mensaje secreto número {i} {BODY_CANARY}")
        await eventually(lambda: len(tg.messages(BERLIN)) == 3)
        await eventually(lambda: len(NETWORK.seen_in("nyc")) == 3)
        body = ""

        def moved(name: str, **labels: str) -> float:
            return sample(body, name, **labels) - sample(before, name, **labels)

        async def counted() -> bool:
            """A deliverer counts a copy once its send is recorded, after the platform (and the
            chat the test watches) has it: read /metrics until the third of each is."""
            nonlocal body
            status, body = await get(f"{base}/metrics")
            assert status == 200
            return (
                moved("translocal_messages_out_total", room="berlin", platform="telegram",
                      action="send") >= 3
                and moved("translocal_messages_out_total", room="nyc", platform="memory",
                          action="send") >= 3
                and moved("translocal_relay_lag_seconds_count", platform="telegram") >= 3
                # sampled at the scrape, maybe just before the last commit
                and sample(body, "translocal_outbox_depth", bot="tg-b") == 0
            )  # fmt: skip

        await eventually_async(counted, what="the third copy to each room counted, outbox empty")

    assert moved("translocal_messages_in_total", room="cdmx", platform="telegram") == 3
    assert moved("translocal_messages_out_total", room="berlin", platform="telegram",
                 action="send") == 3  # fmt: skip
    assert moved("translocal_messages_out_total", room="nyc", platform="memory",
                 action="send") == 3  # fmt: skip
    assert moved("translocal_relay_lag_seconds_count", platform="telegram") == 3
    assert sample(body, "translocal_outbox_depth", bot="tg-b") == 0
    assert "translocal_shards_owned" in body
    assert "secreto" not in body  # no text
    # no user or chat ids in any label (sample values, timestamps among them, are numbers)
    labels = [line.split("}")[0] for line in body.splitlines() if "{" in line]
    assert not any(str(ANA) in label or str(CDMX) in label for label in labels)


async def test_healthz_follows_the_bot_api_server(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    port = free_port()
    healthz = f"http://127.0.0.1:{port}/healthz"

    async with running_app(App(config(tmp_path, redis_url, tg), metrics=("127.0.0.1", port))):
        assert await get(healthz) == (200, "ok\n")
        await tg.stop()
        try:
            await eventually_async(lambda: _unhealthy(healthz), what="an unhealthy answer")
            status, body = await get(healthz)
            assert status == 503
            assert "bot tg-a: getUpdates failing" in body
            assert "bot tg-b: getUpdates failing" in body
            assert "redis" not in body
        finally:
            await tg.start()
        await eventually_async(lambda: _healthy(healthz), timeout=30, what="healthy again")


async def _unhealthy(url: str) -> bool:
    return (await get(url))[0] == 503


async def _healthy(url: str) -> bool:
    return (await get(url)) == (200, "ok\n")
