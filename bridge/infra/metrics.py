"""Prometheus metrics and the health check, on ``translocal run --metrics-port N``.

Labels carry config ids (rooms, bots, providers) and fixed words, never message text, chat
ids or user ids. One process-wide set of metrics, as Prometheus clients keep them; each
process of a split deployment (``--role``) serves its own part.

``/healthz`` answers 200 "ok" only when Redis answers and every bot of this process says it
is connected; otherwise 503, one line per part that is not.

``/status`` is the page ``translocal status`` prints, as HTML (``bridge.ops.page``), when the
composition root hands one in: this module does not know how it is made (it sits below the
call-outs and the config in the layers). It is sent with a Content-Security-Policy that
allows no script and no external resource, and never cached.

The metrics ``deploy/grafana/translocal.json`` and ``deploy/prometheus/alerts.yml`` use are
all defined here (tests/bridge/test_metrics_files.py checks that they exist).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import platform
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

if TYPE_CHECKING:  # the server side of aiohttp is imported by OpsServer.start
    from aiohttp import web

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()

MESSAGES_IN = Counter(
    "translocal_messages_in", "Messages taken in from members, per origin room",
    ["room", "platform"], registry=REGISTRY,
)  # fmt: skip
MESSAGES_OUT = Counter(
    "translocal_messages_out", "Copies, edits and deletes delivered, per target room",
    ["room", "platform", "action"], registry=REGISTRY,
)  # fmt: skip
RELAY_LAG = Histogram(
    "translocal_relay_lag_seconds", "From taking a message in to delivering its copy",
    ["platform"], registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800),
)  # fmt: skip
PLAN_FAILURES = Counter(
    "translocal_plan_failures",
    "Inbox entries dropped because planning them raised (a defect: see the error log)",
    registry=REGISTRY,
)  # fmt: skip
OUTBOX_DEPTH = Gauge(
    "translocal_outbox_depth", "Deliveries waiting in a bot's outbox", ["bot"], registry=REGISTRY
)
SHARDS_OWNED = Gauge(
    "translocal_shards_owned", "Inbox shards this process's relay worker owns", registry=REGISTRY
)
TRANSLATIONS = Counter(
    "translocal_translations", "Translation calls per provider, by outcome "
    "(translated, cached, failed)", ["provider", "outcome"], registry=REGISTRY,
)  # fmt: skip
RETRIES = Counter(
    "translocal_delivery_retries", "Deliveries retried, per bot, by reason "
    "(rate_limited: a 429 waited out; error: a 5xx, timeout or network error)",
    ["bot", "reason"], registry=REGISTRY,
)  # fmt: skip
DEAD_LETTERS = Counter(
    "translocal_dead_letters", "Deliveries that failed for good, per bot", ["bot"],
    registry=REGISTRY,
)  # fmt: skip

DEAD_LETTERS_STORED = Gauge(
    "translocal_dead_letters_stored", "Dead letters kept in Redis now (all bots)",
    registry=REGISTRY,
)  # fmt: skip
BOT_HEALTHY = Gauge(
    "translocal_bot_healthy", "1 when the bot's platform answers and its credentials hold",
    ["bot"], registry=REGISTRY,
)  # fmt: skip
REDIS_MEMORY = Gauge(
    "translocal_redis_memory_bytes", "Redis memory: used, and maxmemory (0: no limit)",
    ["kind"], registry=REGISTRY,
)  # fmt: skip
# Call-outs, per circle ("-" for a room a call-out names directly)
CALLOUTS_SCHEDULED = Gauge(
    "translocal_callouts_scheduled", "Call-outs kept (not cancelled), per circle",
    ["circle"], registry=REGISTRY,
)  # fmt: skip
CALLOUTS_FIRED = Counter(
    "translocal_callouts_fired", "Call-out fires queued, one per room, per circle",
    ["circle"], registry=REGISTRY,
)  # fmt: skip
CALLOUTS_DELIVERED = Counter(
    "translocal_callouts_delivered", "Call-out fires that landed in their room, per circle",
    ["circle"], registry=REGISTRY,
)  # fmt: skip
CALLOUTS_FAILED = Counter(
    "translocal_callouts_failed", "Call-out fires that did not land (failed, skipped or not "
    "confirmed), per circle and outcome", ["circle", "outcome"], registry=REGISTRY,
)  # fmt: skip
BUILD = Info("translocal_build", "The running translocal's version", registry=REGISTRY)


def _version() -> str:
    try:
        return version("translocal")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


BUILD.info({"version": _version(), "python": platform.python_version()})

Check = Callable[[], Awaitable[list[str]]]
Page = Callable[[], Awaitable[str]]  # the /status page's HTML

STATUS_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}  # the problems found; empty when healthy


class OpsServer:
    """/metrics, /healthz and /status on one port."""

    def __init__(
        self,
        host: str,
        port: int,
        check: Check,
        sample: Callable[[], Awaitable[None]],
        status: Page | None = None,
    ):
        self.host = host
        self.port = port
        self.check = check
        self.sample = sample  # refreshes gauges read from Redis before a scrape
        self.status = status
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        from aiohttp import web  # aiohttp's server side: about 3 MiB, only with --metrics-port

        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        if self.status is not None:
            app.router.add_get("/status", self._status)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("metrics, health and status on http://%s:%d/metrics, /healthz and /status",
                 self.host, self.port)  # fmt: skip

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        with contextlib.suppress(Exception):  # a scrape shows what it can
            await asyncio.wait_for(self.sample(), 5)
        from aiohttp import web

        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        from aiohttp import web

        try:
            problems = await asyncio.wait_for(self.check(), 5)
        except TimeoutError:
            problems = ["the health check timed out"]
        if problems:
            return web.Response(status=503, text="\n".join(problems) + "\n")
        return web.Response(text="ok\n")

    async def _status(self, request: web.Request) -> web.Response:
        assert self.status is not None
        from aiohttp import web

        try:
            html = await asyncio.wait_for(self.status(), 10)
        except Exception as exc:  # Redis away: say so, in one line
            log.warning("the status page failed: %s", type(exc).__name__)
            return web.Response(status=503, text=f"status unavailable ({type(exc).__name__})\n")
        return web.Response(body=html.encode(), headers=STATUS_HEADERS)
