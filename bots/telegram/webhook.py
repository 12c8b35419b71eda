"""Telegram's optional webhook mode: an HTTP listener that Telegram (or a self-hosted Bot API
server) posts updates to, instead of our get_updates loop.

The same rule as polling holds: an update is answered 200 only once its envelope is in the
inbox. Anything else (a crash, an error) leaves Telegram retrying it, and the envelope key
(the update id) absorbs a repeat. Telegram is asked for one connection at a time, so the
updates of a chat arrive in order.

The listener checks Telegram's secret header on every request: the URL alone is not a
credential. The secret is derived from the bot token, so it survives restarts and is never
configured separately. Put TLS in front (a reverse proxy); the listener speaks plain HTTP,
on 127.0.0.1 unless ``webhook_listen`` says otherwise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:  # aiohttp's server side (about 3 MiB) is imported in webhook mode only
    from aiohttp import web

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header's name
Handler = Callable[[dict[str, object]], Awaitable[None]]


def secret_for(token: str) -> str:
    """The secret_token Telegram echoes back: 64 characters of [0-9a-f], from the bot token."""
    return hmac.new(token.encode(), b"translocal webhook", hashlib.sha256).hexdigest()


def listen_address(url: str, listen: str | None) -> tuple[str, int]:
    """Where to listen: ``webhook_listen`` ("host:port"), else 127.0.0.1 on the URL's port."""
    if listen:
        host, _, port = listen.rpartition(":")
        return host or "127.0.0.1", int(port)
    parts = urlsplit(url)
    return "127.0.0.1", parts.port or 8443


class WebhookListener:
    """One bot's webhook endpoint: POST <the URL's path>, JSON update in, 200 once handled."""

    def __init__(self, bot_id: str, url: str, listen: str | None, secret: str) -> None:
        self.bot_id = bot_id
        self.url = url  # what Telegram posts to (behind a proxy, perhaps)
        self.path = urlsplit(url).path or "/"
        self.host, self.port = listen_address(url, listen)
        self.secret = secret
        self._runner: web.AppRunner | None = None
        self._handle: Handler | None = None

    async def start(self, handle: Handler) -> None:
        self._handle = handle
        from aiohttp import web

        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self.path, self._post)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("telegram bot %s: webhook listening on %s:%d", self.bot_id, self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _post(self, request: web.Request) -> web.Response:
        from aiohttp import web

        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("telegram bot %s: a webhook request without the right secret from %s "
                        "was refused", self.bot_id, request.remote)  # fmt: skip
            return web.Response(status=403)
        try:
            data = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.Response(status=400, text="not JSON")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        assert self._handle is not None
        await self._handle(data)  # raises (500: Telegram retries) unless the inbox has it
        return web.Response(status=200)
