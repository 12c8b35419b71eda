"""Member-to-member latency through the bridge on Matrix, against the homeserver's own.

    .venv/bin/python bench/matrix_e2e.py [--messages 100] [--warmup 5]

One real Synapse (sandbox/synapse.py) and the embedded Redis, both started here; translocal
runs in-process (relay, deliverer, the Matrix adapter on matrix-nio), no translation.

- bridge: a member posts in room A; the bot (in A and B) carries it to room B, where a
  second member's client, long-polling /sync, sees the copy. From the send call to that sync;
- direct: the same two members in one room, no bridge: from the send call to the other
  member's sync seeing it. The bridge path crosses the homeserver twice (A to the bot, the
  bot to B), so its floor is twice this.

One message at a time (the next once the last arrived), direct and bridged in turn so that
both meet the same load, after a warm-up. Prints median and p95 of both, and ends with
``ratio: <bridge median / (2 x direct median)>`` (target < 1.2).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from nio import AsyncClient, AsyncClientConfig, LoginResponse, RoomCreateResponse, SyncResponse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.app import App  # noqa: E402
from bridge.config.load import load_config_text  # noqa: E402
from bridge.infra.embedded_redis import EmbeddedRedis  # noqa: E402
from sandbox.synapse import SynapseServer  # noqa: E402

PASSWORD = "bench-password-1"


class Reader:
    """A member whose client long-polls /sync and notes when each body first shows up."""

    def __init__(self, client: AsyncClient) -> None:
        self.client = client
        self.seen: dict[str, float] = {}
        self.waiting: dict[str, asyncio.Future[float]] = {}
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:
            response = await self.client.sync(timeout=30_000)
            now = time.perf_counter()
            if not isinstance(response, SyncResponse):
                continue
            for info in response.rooms.join.values():
                for event in info.timeline.events:
                    body = (getattr(event, "source", {}).get("content") or {}).get("body")
                    if isinstance(body, str):
                        text = body.rsplit("\n", 1)[-1]
                        self.seen.setdefault(text, now)
                        waiter = self.waiting.pop(text, None)
                        if waiter is not None and not waiter.done():
                            waiter.set_result(self.seen[text])

    async def arrival(self, text: str, within: float = 30.0) -> float:
        """When ``text`` arrived (waiting for it without polling: the bridge shares this
        process and its event loop)."""
        if text in self.seen:
            return self.seen[text]
        waiter = self.waiting[text] = asyncio.get_running_loop().create_future()
        try:
            return await asyncio.wait_for(waiter, within)
        except TimeoutError:
            raise RuntimeError(f"{text!r} never arrived") from None


async def login(server: SynapseServer, name: str) -> AsyncClient:
    user_id = await server.register(name, PASSWORD, displayname=name.capitalize())
    config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=2, request_timeout=60,
                               encryption_enabled=False)  # fmt: skip
    client = AsyncClient(server.url, user_id, config=config)
    assert isinstance(await client.login(PASSWORD), LoginResponse)
    await client.sync(timeout=0)
    return client


async def room(owner: AsyncClient, *guests: AsyncClient, invite: tuple[str, ...] = ()) -> str:
    created = await owner.room_create(invite=[g.user_id for g in guests] + list(invite))
    assert isinstance(created, RoomCreateResponse)
    for guest in guests:
        await guest.sync(timeout=0)
        await guest.join(created.room_id)
    return str(created.room_id)


async def one(sender: AsyncClient, reader: Reader, room_id: str, text: str) -> float:
    """Milliseconds from the send call to the reader's sync showing ``text``."""
    start = time.perf_counter()
    await sender.room_send(room_id, "m.room.message", {"msgtype": "m.text", "body": text})
    return (await reader.arrival(text) - start) * 1000


async def measure(
    sender: AsyncClient, reader: Reader, direct_room: str, bridged_room: str, n: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Direct and bridged in turn, one message at a time, so that both meet the same load."""
    direct, bridged = [], []
    for i in range(warmup + n):
        d = await one(sender, reader, direct_room, f"direct {i} {time.monotonic_ns()}")
        await asyncio.sleep(0.05)
        b = await one(sender, reader, bridged_room, f"bridged {i} {time.monotonic_ns()}")
        await asyncio.sleep(0.05)
        if i >= warmup:
            direct.append(d)
            bridged.append(b)
    return direct, bridged


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = EmbeddedRedis(Path(tmp) / "redis")
        redis_server.start()
        try:
            async with SynapseServer(Path(tmp) / "synapse") as synapse:
                direct, bridged = await run(synapse, redis_server.url, Path(tmp), args)
        finally:
            redis_server.stop()
    d50, b50 = statistics.median(direct), statistics.median(bridged)
    print(
        f"messages: {args.messages} each way, one at a time, in turn, after {args.warmup} warm-up"
    )
    print(f"direct (one room, homeserver only): median {d50:.1f} ms, p95 {p95(direct):.1f} ms")
    print(f"bridge (room A -> bot -> room B):   median {b50:.1f} ms, p95 {p95(bridged):.1f} ms")
    print(f"bridge overhead over two homeserver hops: {b50 - 2 * d50:.1f} ms at the median")
    print(f"ratio: {b50 / (2 * d50):.3f}")


async def run(
    synapse: SynapseServer, redis_url: str, tmp: Path, args: Any
) -> tuple[list[float], list[float]]:
    bot = await synapse.register("bridge", PASSWORD, displayname="Translocal")
    ana, ben = await login(synapse, "ana"), await login(synapse, "ben")
    reader = Reader(ben)
    try:
        together = await room(ana, ben)
        a = await room(ana, invite=(bot,))
        b = await room(ben, invite=(bot,))
        config = f"""
data_dir: {tmp}/data
redis: {{url: "{redis_url}", shards: 4}}
bots:
  - {{id: mx, platform: matrix, homeserver: "{synapse.url}", user_id: "{bot}",
     password: "{PASSWORD}"}}
rooms:
  - {{id: a, bot: mx, chat: "{a}", language: es, label: A}}
  - {{id: b, bot: mx, chat: "{b}", language: es, label: B}}
limits: {{per_sender_per_minute: 10000000, per_room_per_minute: 10000000}}
circles:
  - {{id: net, rooms: [a, b], relay: all}}
"""
        app = App(load_config_text(config, Path("bench.yaml"), {}), lease_ms=2000)
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(app.run(stop, ready))
        await asyncio.wait_for(ready.wait(), 60)
        await ben.sync(timeout=0)
        reader.task = asyncio.create_task(reader.run())
        try:
            direct, bridged = await measure(ana, reader, together, a, args.messages, args.warmup)
        finally:
            stop.set()
            await task
    finally:
        if reader.task is not None:
            reader.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader.task
        await ana.close()
        await ben.close()
    return direct, bridged


if __name__ == "__main__":
    asyncio.run(main())
