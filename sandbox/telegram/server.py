"""BotApiServer: the sandbox Telegram as one object, served over HTTP inside the caller's loop.

Bots reach it as python-telegram-bot would reach api.telegram.org:
``telegram.Bot(token, base_url=server.url + "/bot", base_file_url=server.url + "/file/bot")``.
Tests act as the humans through its methods (or the /_sandbox/ control API), move its clock,
switch flood limits and faults, lower the file size limits, and read what each chat shows, the
bytes of any file and which calls were made. Those come from `People` (the humans) and
`Console` (the operator); this module adds the lifecycle and the HTTP faces on top.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from aiohttp import web

from sandbox.telegram.api import Api
from sandbox.telegram.console import Console
from sandbox.telegram.control import ControlRoutes
from sandbox.telegram.faults import Faults
from sandbox.telegram.limits import RateLimiter
from sandbox.telegram.model import FileLimits
from sandbox.telegram.routes import FORM_OVERHEAD, BotApiRoutes
from sandbox.telegram.webhook import Webhooks
from sandbox.telegram.world import World

_DEFAULT_FILES = FileLimits()


class BotApiServer(Console):
    """A local Telegram Bot API server with in-memory state (see the package docstring)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        limits: bool = True,
        scale: float = 1.0,
        max_photo: int = _DEFAULT_FILES.photo,
        max_upload: int = _DEFAULT_FILES.upload,
        max_download: int = _DEFAULT_FILES.download,
        webhook_retry: float = 3.0,
    ) -> None:
        """`max_photo`, `max_upload`, `max_download`: Telegram's 10, 50 and 20 MB unless
        lowered (also later, through `file_limits`); `webhook_retry`: seconds before a failed
        webhook delivery is tried again (also later, through `webhooks.retry`)."""
        world = World()
        world.file_limits = FileLimits(max_photo, max_upload, max_download)
        limiter = RateLimiter(enabled=limits, scale=scale)
        self.webhooks = Webhooks(world, retry=webhook_retry)
        super().__init__(world, limiter, Api(world, limiter, self.webhooks), Faults())
        self.host = host
        self.port = port
        self.url = ""
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def application(self) -> web.Application:
        """The aiohttp application (Bot API, file downloads and /_sandbox/ control)."""
        app = web.Application(client_max_size=self.file_limits.upload + FORM_OVERHEAD)
        BotApiRoutes(self.api, self.fault_plan, self._closing).add_to(app)
        ControlRoutes(self).add_to(app)
        return app

    async def start(self) -> None:
        """Serves on host:port (port 0: a free one); `url` then says where."""
        self.api.closing = False
        self._closing = asyncio.Event()
        for state in self.world.bots.values():
            state.wakeup = asyncio.Event()  # bound to the loop that serves from now on
        runner = web.AppRunner(
            self.application(), access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.port = int(port)
        self.url = f"http://{host}:{self.port}"
        self.webhooks.resume()

    async def stop(self) -> None:
        """Stops webhook delivery, ends waiting calls (long polls answer [], held calls their
        fault) and stops serving."""
        await self.webhooks.close()
        self.api.closing = True
        self._closing.set()
        for state in self.world.bots.values():
            state.wakeup.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def __repr__(self) -> str:
        return f"BotApiServer({self.url or 'not started'})"


def bot_kwargs(server: BotApiServer) -> dict[str, Any]:
    """base_url and base_file_url for telegram.Bot(token, **bot_kwargs(server))."""
    return {"base_url": server.url + "/bot", "base_file_url": server.url + "/file/bot"}
