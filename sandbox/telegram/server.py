"""BotApiServer: the sandbox Telegram as one object, served over HTTP inside the caller's loop.

Bots reach it as python-telegram-bot would reach api.telegram.org:
``telegram.Bot(token, base_url=server.url + "/bot", base_file_url=server.url + "/file/bot")``.
Tests act as the humans through its methods (or the /_sandbox/ control API), move its clock,
switch flood limits and faults, lower the file size limits, and read what each chat shows, the
bytes of any file and which calls were made.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from types import TracebackType
from typing import Any

from aiohttp import web

from sandbox.telegram.api import Api, Call
from sandbox.telegram.control import ControlRoutes
from sandbox.telegram.entities import JSON
from sandbox.telegram.faults import Faults
from sandbox.telegram.limits import RateLimiter, Refusal
from sandbox.telegram.model import FileLimits
from sandbox.telegram.people import People
from sandbox.telegram.routes import FORM_OVERHEAD, BotApiRoutes
from sandbox.telegram.webhook import Webhooks
from sandbox.telegram.world import World, bad_request

_DEFAULT_FILES = FileLimits()


class BotApiServer(People):
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
        super().__init__(World())
        self.world.file_limits = FileLimits(max_photo, max_upload, max_download)
        self.host = host
        self.port = port
        self.url = ""
        self.limiter = RateLimiter(enabled=limits, scale=scale)
        self.webhooks = Webhooks(self.world, retry=webhook_retry)
        self.api = Api(self.world, self.limiter, self.webhooks)
        self.fault_plan = Faults()
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

    # --- time, limits, faults -----------------------------------------------------------------

    @property
    def clock(self) -> float:
        """Seconds added to real time: message dates, edit dates and the 48 h delete window."""
        return self.world.clock

    @clock.setter
    def clock(self, seconds: float) -> None:
        self.world.clock = float(seconds)

    def move_clock(self, *, advance: float = 0.0, offset: float | None = None) -> float:
        """Moves the clock forward by `advance` seconds, or sets its offset; returns it."""
        self.clock = (self.clock if offset is None else offset) + advance
        return self.clock

    def set_limits(self, *, enabled: bool | None = None, scale: float | None = None) -> JSON:
        """Switches the flood limits on or off, or changes their time scale (windows reset)."""
        if enabled is not None:
            self.limiter.enabled = enabled
        if scale is not None:
            if scale <= 0:
                raise ValueError("scale must be positive")
            self.limiter.scale = scale
            self.limiter.reset()
        return {"enabled": self.limiter.enabled, "scale": self.limiter.scale}

    def inject(self, method: str, *, status: int = 500, count: int = 1, hold: float = 0) -> None:
        """The next `count` calls of `method` answer `status` without acting; with `hold`,
        after holding the request that many seconds (a client with a shorter timeout gives up)."""
        self.fault_plan.inject(method, status=status, count=count, hold=hold)

    def faults(
        self,
        *,
        p_5xx: float = 0.0,
        p_429: float = 0.0,
        p_timeout: float = 0.0,
        timeout_s: float = 5.0,
        seed: int = 0,
        methods: list[str] | None = None,
    ) -> None:
        """Random faults: a fraction of calls (of `methods`, default all) answer 500/502, 429
        (retry_after 1), or are held `timeout_s` seconds and then answer 502, never acting."""
        self.fault_plan.configure(
            p_5xx=p_5xx,
            p_429=p_429,
            p_timeout=p_timeout,
            timeout_s=timeout_s,
            seed=seed,
            methods=methods,
        )

    def clear_faults(self) -> None:
        self.fault_plan.clear()

    @property
    def file_limits(self) -> FileLimits:
        """The photo, upload and download limits in bytes (their fields can be changed)."""
        return self.world.file_limits

    # --- what happened ------------------------------------------------------------------------

    @property
    def too_many(self) -> Counter[tuple[int, int]]:
        """429s given, by (bot id, chat id); chat 0 when a random 429 hit a call without one."""
        return self.limiter.too_many

    @property
    def refusals(self) -> list[Refusal]:
        """Every 429 the flood limits gave, with the rule and the exact wait."""
        return self.limiter.refusals

    @property
    def fault_counts(self) -> Counter[tuple[str, str]]:
        """Faults given, by (kind: "500", "502", "429" or "timeout"; lower-case method)."""
        return self.fault_plan.given

    @property
    def calls(self) -> list[Call]:
        """State-changing bot calls, in the order they succeeded."""
        return self.api.calls

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes behind a file_id, as a download of it gives them."""
        stored = self.world.files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        return stored.data

    def updates_pending(self, token: str) -> list[JSON]:
        """A bot's queued (unconfirmed) updates, without confirming them."""
        return list(self.world.bots[token].updates)

    def stats(self) -> JSON:
        """Counters and the call record, as JSON."""
        return {
            "too_many": [
                {"bot_id": bot, "chat_id": chat, "count": n}
                for (bot, chat), n in self.too_many.items()
            ],
            "faults": [
                {"kind": kind, "method": method, "count": n}
                for (kind, method), n in self.fault_counts.items()
            ],
            "calls": [vars(call) for call in self.calls],
            "limits": {"enabled": self.limiter.enabled, "scale": self.limiter.scale},
            "clock": self.clock,
        }

    def __repr__(self) -> str:
        return f"BotApiServer({self.url or 'not started'})"


def bot_kwargs(server: BotApiServer) -> dict[str, Any]:
    """base_url and base_file_url for telegram.Bot(token, **bot_kwargs(server))."""
    return {"base_url": server.url + "/bot", "base_file_url": server.url + "/file/bot"}
