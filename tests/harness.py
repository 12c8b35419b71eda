"""Running the real bridge in-process over the shared embedded Redis, with in-memory bots."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from bridge.app import App
from bridge.callouts.clock import Clock
from bridge.config.load import LoadedConfig, load_config
from bridge.model import keys
from tests.helpers import NO_LIMITS, write_config
from tests.memory_bot import NETWORK, MemoryNetwork

ROOMS = [
    {"id": "cdmx", "bot": "a", "chat": "a1", "language": "es", "label": "CDMX"},
    {"id": "berlin", "bot": "b", "chat": "b1", "language": "de", "label": "Berlin"},
    {"id": "nyc", "bot": "c", "chat": "c1", "language": "en", "label": "NYC"},
]


def memory_config(
    tmp_path: Path, redis_url: str, *, relay: str = "all", shards: int = 4, **extra: Any
) -> LoadedConfig:
    cfg: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url, "shards": shards},
        "bots": [{"id": b, "platform": "memory"} for b in ("a", "b", "c")],
        "rooms": [dict(r) for r in ROOMS],
        "circles": [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": relay}],
        # volume tests send far more than a member may; the limits' own tests set them
        "limits": NO_LIMITS,
    }
    cfg.update(extra)
    return load_config(write_config(tmp_path / "memory.yaml", cfg), env={})


async def eventually(check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Wait for an outcome of asynchronous work (polling, never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


async def eventually_async(
    check: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = ""
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.01)


async def committed(net: MemoryNetwork = NETWORK, bots: Iterable[str] = ()) -> None:
    """Every copy delivered so far is in the message map: each bot's outbox is empty.

    A bot shows a copy before its deliverer records it; the deliverer deletes the outbox
    entry in the transaction that records the copy. A test that acts on a copy or notice it
    has just seen (replies, reacts, edits, deletes, answers a notice with a command) waits
    for this first, or the relay may not find it yet. ``bots``: further bot ids (a config's
    platform bots), besides ``net``'s in-memory ones, whose Redis this reads."""
    redis = next(iter(net.bots.values())).ctx.redis
    names = {*net.bots, *bots}

    async def empty() -> bool:
        return not sum([await redis.xlen(keys.outbox(bot)) for bot in names])

    await eventually_async(empty, what="every outbox committed")


@contextlib.asynccontextmanager
async def running(
    loaded: LoadedConfig, role: str = "all", lease_ms: int = 1000
) -> AsyncIterator[tuple[App, MemoryNetwork]]:
    async with running_app(App(loaded, role=role, lease_ms=lease_ms)) as app:
        yield app, NETWORK


def on_clock(loaded: LoadedConfig, clock: Clock | None = None) -> App:
    """The bridge of ``loaded``, its call-outs on ``clock`` (one the test moves) if given."""
    app = App(loaded, lease_ms=1000)
    if clock is not None:
        app.callout_clock = clock
    return app


@contextlib.asynccontextmanager
async def running_app(app: App) -> AsyncIterator[App]:
    """Run an App until the block ends; fails if it does not start within 20 s."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(app.run(stop, ready))
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait({task, waiter}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        waiter.cancel()
        await task  # raises what went wrong
    assert waiter in done, "the bridge did not start"
    try:
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


class LinksClock:
    """The bridge's clock for invites and pending chats (``App.links_clock``,
    ``BotContext.clock``), moved by the test: seconds since the epoch."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now
