"""Redis memory per relayed message, kept for the retention period.

    .venv/bin/python bench/redis_bytes.py [--messages 100000]

The demo network's shape: three rooms (CDMX on Telegram, Berlin and Toronto on Matrix), one
circle, every message crossing to the two others; one in four is a reply. The messages go
through the real relay worker (router, commit script) and the real deliverers (map records),
with bots that answer at once with ids of the platform's shape: Telegram's counters, Matrix's
``$`` + 43 characters. ``INFO memory``'s ``used_memory`` is read before the first message and
after the last copy is recorded, once the inbox and outboxes are empty: what stays is the
message map, the idempotency records and the copies' records (and the streams' empty shells).

Ends with ``ratio: <bytes per message / 250>`` (issue 23: below 1.0).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import itertools
import sys
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.app import build_router  # noqa: E402
from bridge.config.load import load_config_text  # noqa: E402
from bridge.infra.bus import shard_of  # noqa: E402
from bridge.infra.connection import make_client  # noqa: E402
from bridge.infra.embedded_redis import EmbeddedRedis  # noqa: E402
from bridge.model import keys  # noqa: E402
from bridge.model.envelope import Envelope, Sender  # noqa: E402
from bridge.model.ports import Job  # noqa: E402
from bridge.relay.deliverer import Deliverer  # noqa: E402
from bridge.relay.worker import RelayWorker  # noqa: E402

SHARDS = 16
TARGET = 250  # bytes per message (issue 23)
KEEP_S = 7 * 86400  # retention.message_map_days, default
CONFIG = """
redis: {shards: 16}
bots:
  - {id: tg, platform: telegram, token: "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"}
  - {id: mx, platform: matrix, homeserver: "http://127.0.0.1:1", user_id: "@b:x", password: pw-long}
rooms:
  - {id: cdmx, bot: tg, chat: "-1001234567890", language: es, label: CDMX}
  - {id: berlin, bot: mx, chat: "!kDsFhYtRbWqPzLmN:matrix.org", language: es, label: Berlin}
  - {id: toronto, bot: mx, chat: "!QwErTyUiOpAsDfGh:matrix.org", language: es, label: Toronto}
limits: {per_sender_per_minute: 10000000, per_room_per_minute: 10000000}
circles:
  - {id: net, rooms: [cdmx, berlin, toronto], relay: all}
"""
ORIGINS = [("tg", "-1001234567890"), ("mx", "!kDsFhYtRbWqPzLmN:matrix.org"),
           ("mx", "!QwErTyUiOpAsDfGh:matrix.org")]  # fmt: skip
TEXT = "Bloqueo mañana a las 7 frente al edificio de la calle Durango, traigan a sus vecinas."


def matrix_id(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    return "$" + base64.urlsafe_b64encode(digest).decode().rstrip("=")  # 43 characters


def message_id(i: int) -> str:
    bot, _chat = ORIGINS[i % 3]
    return str(500_000 + i) if bot == "tg" else matrix_id(f"in:{i}")


def envelope(i: int) -> Envelope:
    bot, chat = ORIGINS[i % 3]
    reply = message_id(i - 3) if i >= 3 and i % 4 == 0 else None  # same room, three back
    return Envelope(key=f"{bot}:{i}", kind="message", bot=bot, chat=chat,
                    message_id=message_id(i), reply_to=reply,
                    sender=Sender(id=f"{'telegram:' if bot == 'tg' else 'matrix:@'}{1000 + i % 50}"
                                  f"{'' if bot == 'tg' else ':matrix.org'}", name="Ana"),
                    text=TEXT)  # fmt: skip


class AnsweringBot:
    """Sends nothing anywhere: answers every delivery at once with a fresh platform id."""

    def __init__(self, bot_id: str) -> None:
        self.id = bot_id
        self._next = itertools.count(900_000)

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def close(self) -> None: ...

    async def health(self) -> str | None:
        return None

    async def deliver(self, job: Job) -> list[str]:
        n = next(self._next)
        return [str(n) if self.id == "tg" else matrix_id(f"out:{n}")]


async def used(r: Redis) -> int:
    return int((await r.info("memory"))["used_memory"])


async def relay(r: Redis, n: int) -> float:
    loaded = load_config_text(CONFIG, Path("bench.yaml"), {})
    router = build_router(loaded.config, r)
    worker = RelayWorker(r, router, shards=SHARDS, map_ttl_s=KEEP_S, lease_ms=2000)
    bots = {b: AnsweringBot(b) for b in ("tg", "mx")}
    deliverers = [Deliverer(r, bot, map_ttl_s=KEEP_S, lease_ms=2000) for bot in bots.values()]
    stop = asyncio.Event()
    start = time.perf_counter()
    runs = [worker.run(stop), *(d.run(stop) for d in deliverers)]
    tasks = [asyncio.create_task(run) for run in runs]
    for first in range(0, n, 1000):
        async with r.pipeline(transaction=False) as pipe:
            for i in range(first, min(n, first + 1000)):
                env = envelope(i)
                stream = keys.inbox(shard_of(env.bot, env.chat, SHARDS))
                pipe.xadd(stream, {"d": env.model_dump_json()})
            await pipe.execute()
        while worker.processed < first - 5000:  # keep the inbox short, as in a live bridge
            await asyncio.sleep(0.01)
    while sum(d.delivered for d in deliverers) < 2 * n:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - start
    stop.set()
    await asyncio.gather(*tasks)
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    n = parser.parse_args().messages
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        try:
            r = make_client(server.url)
            before = await used(r)
            elapsed = await relay(r, n)
            after = await used(r)
            encodings: dict[str, int] = {}
            async for name in r.scan_iter(count=1000):
                kind = str(await r.object("encoding", name))
                encodings[kind] = encodings.get(kind, 0) + 1
            total = int(await r.dbsize())
            await r.aclose()
        finally:
            server.stop()
    per_message = (after - before) / n
    print(f"redis: embedded 6.2; {n} messages, each crossing to 2 rooms, 1 in 4 a reply")
    print(f"relayed and recorded in {elapsed:.1f} s")
    print(f"used_memory: {before} before, {after} after: {per_message:.1f} bytes per message")
    print(f"keys: {total} ({', '.join(f'{k} {v}' for k, v in sorted(encodings.items()))})")
    print(f"ratio: {per_message / TARGET:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
