"""Prometheus metrics and the health check, on ``translocal run --metrics-port N``.

Labels carry config ids (rooms, bots, providers) and fixed words, never message text, chat
ids or user ids. One process-wide set of metrics, as Prometheus clients keep them; each
process of a split deployment (``--role``) serves its own part.

``/healthz`` answers 200 "ok" only when Redis answers and every bot of this process says it
is connected; otherwise 503, one line per part that is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

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

Check = Callable[[], Awaitable[list[str]]]  # the problems found; empty when healthy


class OpsServer:
    """/metrics and /healthz on one port."""

    def __init__(self, host: str, port: int, check: Check, sample: Callable[[], Awaitable[None]]):
        self.host = host
        self.port = port
        self.check = check
        self.sample = sample  # refreshes gauges read from Redis before a scrape
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        log.info("metrics and health on http://%s:%d/metrics and /healthz", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        with contextlib.suppress(Exception):  # a scrape shows what it can
            await asyncio.wait_for(self.sample(), 5)
        body = generate_latest(REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            problems = await asyncio.wait_for(self.check(), 5)
        except TimeoutError:
            problems = ["the health check timed out"]
        if problems:
            return web.Response(status=503, text="\n".join(problems) + "\n")
        return web.Response(text="ok\n")
