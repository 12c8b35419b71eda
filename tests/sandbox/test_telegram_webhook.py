"""Webhooks in the sandbox Telegram: python-telegram-bot sets them over HTTP and a small aiohttp
listener on 127.0.0.1 receives what the sandbox pushes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Conflict

from sandbox.telegram import BotApiServer
from tests.sandbox.telegram_world import ANA, CHAT, setup_world, take, tg_bot

SECRET = "X-Telegram-Bot-Api-Secret-Token"


class Listener:
    """A webhook endpoint: records each request and answers the next queued status (200)."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, Any], str | None]] = []
        self.answers: list[int] = []
        self.url = ""
        self._arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.got.append((await request.json(), request.headers.get(SECRET)))
        self._arrived.set()
        return web.Response(status=self.answers.pop(0) if self.answers else 200)

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        """The updates received, once there are at least `count` (at most 5 s)."""
        async with asyncio.timeout(5):
            while len(self.got) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return [update for update, _ in self.got]


def texts(updates: list[dict[str, Any]]) -> list[str]:
    return [(u.get("message") or u.get("edited_message") or {}).get("text", "") for u in updates]


@pytest.fixture
async def server() -> AsyncIterator[BotApiServer]:
    async with BotApiServer(limits=False, webhook_retry=0.05) as srv:
        setup_world(srv)
        yield srv


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    hook = Listener()
    await hook.start()
    yield hook
    await hook.stop()


async def test_updates_are_pushed_in_order_with_the_secret(
    server: BotApiServer, bot: Bot, listener: Listener
) -> None:
    assert await bot.set_webhook(listener.url, secret_token="s3cret_token-1") is True
    for text in ("one", "two", "three"):
        server.post(CHAT, ANA, text)
    updates = await listener.wait_for(3)
    assert texts(updates) == ["one", "two", "three"]
    ids = [u["update_id"] for u in updates]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3  # one update per request, each once
    assert {secret for _, secret in listener.got} == {"s3cret_token-1"}

    info = await bot.get_webhook_info()
    assert info.url == listener.url
    assert info.pending_update_count == 0
    assert info.last_error_date is None
    assert info.max_connections == 40
    with pytest.raises(Conflict, match=r"(?i)can't use getUpdates method while webhook is active"):
        await bot.get_updates()

    assert await bot.delete_webhook() is True
    server.post(CHAT, ANA, "polled again")
    assert [u.message.text for u in await take(bot) if u.message] == ["polled again"]
    assert len(listener.got) == 3
    assert (await bot.get_webhook_info()).url == ""


async def test_a_failed_delivery_is_retried_before_the_next_update(
    server: BotApiServer, bot: Bot, listener: Listener
) -> None:
    listener.answers = [500]
    await bot.set_webhook(listener.url)
    server.post(CHAT, ANA, "first")
    server.post(CHAT, ANA, "second")
    updates = await listener.wait_for(3)
    assert texts(updates) == ["first", "first", "second"]
    assert updates[0] == updates[1]  # the same update again
    assert [secret for _, secret in listener.got] == [None, None, None]
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert info.last_error_date is not None
    assert info.pending_update_count == 0


async def test_connection_errors_are_retried_until_the_webhook_listens(
    server: BotApiServer, bot: Bot
) -> None:
    with socket.socket() as probe:  # a free port, closed again: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await bot.set_webhook(f"http://127.0.0.1:{port}/hook")
    server.post(CHAT, ANA, "early")
    async with asyncio.timeout(5):
        while (info := await bot.get_webhook_info()).last_error_message is None:
            await asyncio.sleep(0.02)
    assert info.last_error_message == "Connection refused"
    assert info.pending_update_count == 1
    late = Listener()
    await late.start(port)
    try:
        assert texts(await late.wait_for(1)) == ["early"]
    finally:
        await late.stop()
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_only_urls_on_this_machine_are_accepted(server: BotApiServer, bot: Bot) -> None:
    for url in (
        "https://example.org/hook",
        "https://127.0.0.1.example.org/hook",
        "https://localhost@example.org/hook",
        "https://10.0.0.1/hook",
        "https://[::2]/hook",
    ):
        with pytest.raises(BadRequest, match=r"only to 127\.0\.0\.1, ::1 or localhost"):
            await bot.set_webhook(url)
    for url in ("http://example.org/hook", "ftp://localhost/hook"):
        with pytest.raises(BadRequest, match=r"(?i)an https url must be provided for webhook"):
            await bot.set_webhook(url)
    with pytest.raises(BadRequest, match=r"(?i)secret token contains unallowed characters"):
        await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="not secret!")
    assert (await bot.get_webhook_info()).url == ""
    for url in ("http://localhost:9/hook", "https://127.0.0.1:8443/hook", "http://[::1]:9/"):
        assert await bot.set_webhook(url) is True
        assert (await bot.get_webhook_info()).url == url
    await bot.delete_webhook()
    assert server.calls[-1].method == "deleteWebhook"


async def test_allowed_updates_and_dropped_pending_updates(
    server: BotApiServer, bot: Bot, listener: Listener
) -> None:
    server.post(CHAT, ANA, "before the webhook")
    assert (await bot.get_webhook_info()).pending_update_count == 1
    await bot.set_webhook(
        listener.url, allowed_updates=["edited_message"], drop_pending_updates=True
    )
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0
    assert info.allowed_updates == ("edited_message",)
    posted = server.post(CHAT, ANA, "new")
    server.edit(CHAT, posted["message_id"], "newer")
    updates = await listener.wait_for(1)
    assert [next(k for k in u if k != "update_id") for u in updates] == ["edited_message"]
    assert texts(updates) == ["newer"]


async def test_delivery_stops_on_delete_webhook_and_on_server_stop(listener: Listener) -> None:
    listener.answers = [500] * 1000
    async with BotApiServer(limits=False, webhook_retry=0.05) as server:
        setup_world(server)
        async with tg_bot(server) as bot:
            await bot.set_webhook(listener.url)
            server.post(CHAT, ANA, "refused")
            await listener.wait_for(2)
            await bot.delete_webhook()
            tries = len(listener.got)
            await asyncio.sleep(0.2)
            assert len(listener.got) == tries  # no more tries
            assert [u.message.text for u in await take(bot) if u.message] == ["refused"]

            await bot.set_webhook(listener.url)
            server.post(CHAT, ANA, "refused again")
            await listener.wait_for(tries + 2)
    tries = len(listener.got)
    await asyncio.sleep(0.2)
    assert len(listener.got) == tries
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("webhook")]
