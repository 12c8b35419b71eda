"""Relay throughput and added latency, against a baseline of bare Redis commands.

    .venv/bin/python bench/relay.py [--messages 20000] [--latency-seconds 10]

One relay worker, through the embedded redis-server (unix socket, hiredis), fan-out 3:
a circle of four rooms, each message crossing to the three others.

- throughput: the inbox is filled, then the worker relays it all; messages per second;
- baselines, in the same run, with no bridge logic at all: the Redis commands the design
  needs per message (XREADGROUP, the idempotency SET NX, the map write, one XADD per copy,
  XACK, XDEL), pipelined per batch of the same size, (a) as plain commands and (b) as the
  bridge sends them: inside its one commit script per message, with precomputed arguments.
  ``ratio:`` follows the issue's definition, (a). The bridge beats (a), because its script
  spares Redis seven commands of parsing per message. (b) is stricter: against it, the
  bridge's throughput share shows exactly what the Python around Redis costs (parsing,
  routing, rendering, serializing). It is printed as well;
- latency: 100 messages/s through a running worker; from the envelope's arrival in the inbox
  to its copies' arrival in the outboxes, p50 and p99.

Ends with ``ratio: <bridge throughput / baseline throughput>``.

    .venv/bin/python bench/relay.py --sentinel [--messages 20000]

The bridge's throughput against a primary, a replica and three Sentinels, without and with
``redis.min_replicas_ack: 1`` (issue 23: the WAIT's cost), twice each, interleaved; ends with
``ratio: <throughput with WAIT / without>``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.utils import HIREDIS_AVAILABLE

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.app import build_router  # noqa: E402
from bridge.config.load import load_config_text  # noqa: E402
from bridge.infra.bus import ensure_group, shard_of  # noqa: E402
from bridge.infra.connection import make_client  # noqa: E402
from bridge.infra.embedded_redis import EmbeddedRedis  # noqa: E402
from bridge.model import keys  # noqa: E402
from bridge.model.envelope import Envelope, MsgRef, Sender  # noqa: E402
from bridge.relay.maps import record_args  # noqa: E402
from bridge.relay.worker import _COMMIT as COMMIT_SCRIPT  # noqa: E402
from bridge.relay.worker import RelayWorker  # noqa: E402

SHARDS = 16
BATCH = 200
CONFIG = """
redis: {shards: 16}
bots:
  - {id: tg, platform: telegram, token: "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"}
  - {id: mx, platform: matrix, homeserver: "http://127.0.0.1:1", user_id: "@b:x", password: pw-long}
rooms:
  - {id: cdmx, bot: tg, chat: -1001, language: es, label: CDMX}
  - {id: berlin, bot: mx, chat: "!b:x", language: es, label: Berlin}
  - {id: nyc, bot: mx, chat: "!n:x", language: es, label: NYC}
  - {id: bcn, bot: tg, chat: -1002, language: es, label: BCN}
limits: {per_sender_per_minute: 10000000, per_room_per_minute: 10000000}
circles:
  - {id: net, rooms: [cdmx, berlin, nyc, bcn], relay: all}
"""
ORIGINS = [("tg", "-1001"), ("mx", "!b:x"), ("mx", "!n:x"), ("tg", "-1002")]
TEXT = "Bloqueo mañana a las 7 frente al edificio de la calle Durango, traigan a sus vecinas."


def envelope(i: int) -> Envelope:
    bot, chat = ORIGINS[i % len(ORIGINS)]
    return Envelope(
        key=f"bench:{i}",
        kind="message",
        bot=bot,
        chat=chat,
        message_id=str(i),
        sender=Sender(id=f"telegram:{1000 + i % 50}", name="Ana"),
        text=TEXT,
    )


async def fill(r: Redis, n: int) -> None:
    for start in range(0, n, 1000):
        async with r.pipeline(transaction=False) as pipe:
            for i in range(start, min(n, start + 1000)):
                env = envelope(i)
                pipe.xadd(
                    keys.inbox(shard_of(env.bot, env.chat, SHARDS)), {"d": env.model_dump_json()}
                )
            await pipe.execute()


async def delivery_payload(r: Redis) -> str:
    """A delivery exactly as the relay writes it, so that the baselines move the same bytes."""
    loaded = load_config_text(CONFIG, Path("bench.yaml"), {})
    plan = await build_router(loaded.config, r).plan(envelope(0), {})
    return plan.deliveries[0].model_dump_json(exclude_defaults=True)


async def outbox_total(r: Redis) -> int:
    return int(await r.xlen(keys.outbox("tg"))) + int(await r.xlen(keys.outbox("mx")))


async def bridge_throughput(r: Redis, worker_factory, n: int) -> float:  # type: ignore[no-untyped-def]
    await r.flushall()
    await fill(r, n)
    worker = worker_factory()
    stop = asyncio.Event()
    start = time.perf_counter()
    task = asyncio.create_task(worker.run(stop))
    while worker.processed < n:  # an in-process counter: no Redis traffic of the bench's own
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - start
    stop.set()
    await task
    assert await outbox_total(r) == 3 * n
    return n / elapsed


async def baseline_throughput(r: Redis, n: int) -> float:
    """The same Redis work per message, batched the same way, without any bridge logic."""
    await r.flushall()
    await fill(r, n)
    streams = [keys.inbox(s) for s in range(SHARDS)]
    for stream in streams:
        await ensure_group(r, stream, keys.RELAY_GROUP)
    payload = await delivery_payload(r)
    done = 0
    start = time.perf_counter()
    while done < n:
        reply = await r.xreadgroup(
            keys.RELAY_GROUP, "base", dict.fromkeys(streams, ">"), count=BATCH, block=50
        )
        for stream, entries in reply or []:
            async with r.pipeline(transaction=False) as pipe:
                for entry_id, _fields in entries:
                    pipe.set(keys.seen(entry_id), "1", nx=True, ex=86400)
                    pipe.hset(
                        keys.origin("r", entry_id),
                        mapping={".sender": "s", ".root": "r/1", ".ts": "1"},
                    )
                    pipe.expire(keys.origin("r", entry_id), 86400)
                    for target in ("tg", "mx", "mx"):
                        pipe.xadd(keys.outbox(target), {"d": payload})
                    pipe.xack(stream, keys.RELAY_GROUP, entry_id)
                    pipe.xdel(stream, entry_id)
                await pipe.execute()
            done += len(entries)
    return n / (time.perf_counter() - start)


async def script_baseline_throughput(r: Redis, n: int) -> float:
    """The bridge's own commit script per message, with precomputed arguments: the Redis side
    of the bridge exactly, with none of the Python that computes what to commit."""
    await r.flushall()
    await fill(r, n)
    streams = [keys.inbox(s) for s in range(SHARDS)]
    for stream in streams:
        await ensure_group(r, stream, keys.RELAY_GROUP)
    commit = r.register_script(COMMIT_SCRIPT)
    payload = await delivery_payload(r)
    owner = "base"
    for shard in range(SHARDS):
        await r.set(keys.lease(f"inbox:{shard}"), owner)
    record = {".sender": "s", ".root": "r/1"}
    done = 0
    start = time.perf_counter()
    while done < n:
        reply = await r.xreadgroup(
            keys.RELAY_GROUP, owner, dict.fromkeys(streams, ">"), count=BATCH, block=50
        )
        for stream, entries in reply or []:
            lease = keys.lease(f"inbox:{stream.rsplit(':', 1)[1]}")
            async with r.pipeline(transaction=False) as pipe:
                for entry_id, _fields in entries:
                    await commit(
                        keys=[
                            lease,
                            stream,
                            keys.seen(entry_id),
                            keys.origin("r", entry_id),
                            keys.outbox("tg"),
                            keys.outbox("mx"),
                            keys.outbox("mx"),
                        ],
                        args=[
                            owner,
                            entry_id,
                            keys.RELAY_GROUP,
                            86400,
                            86400,
                            6,  # the packed record (bridge.relay.maps.record_args)
                            *record_args(MsgRef(room="r", id=entry_id), record, 86400, time.time()),
                            payload,
                            payload,
                            payload,
                        ],
                        client=pipe,
                    )
                await pipe.execute()
            done += len(entries)
    return n / (time.perf_counter() - start)


async def latency(r: Redis, worker_factory, seconds: float, rate: float = 100.0) -> list[float]:  # type: ignore[no-untyped-def]
    await r.flushall()
    worker = worker_factory()
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    while len(worker.owned) < SHARDS:
        await asyncio.sleep(0.01)
    reader = Redis(connection_pool=r.connection_pool)
    added: list[float] = []
    sent_at: dict[str, float] = {}
    total = int(seconds * rate)

    async def consume() -> None:
        last = {keys.outbox("tg"): "0-0", keys.outbox("mx"): "0-0"}
        got = 0
        while got < 3 * total:
            reply = await reader.xread(last, block=1000)
            now = time.perf_counter()
            for stream, entries in reply or []:
                for entry_id, fields in entries:
                    last[stream] = entry_id
                    origin = fields["d"].split('"origin":{"room":"', 1)[1]
                    message_id = origin.split('"id":"', 1)[1].split('"', 1)[0]
                    added.append(now - sent_at[message_id])
                    got += 1

    consumer = asyncio.create_task(consume())
    for i in range(total):
        env = envelope(i)
        sent_at[str(i)] = time.perf_counter()
        await r.xadd(keys.inbox(shard_of(env.bot, env.chat, SHARDS)), {"d": env.model_dump_json()})
        await asyncio.sleep(1 / rate)
    await consumer
    stop.set()
    await task
    return added


async def sentinel_run(n: int) -> None:
    """``--sentinel``: the bridge's throughput against a primary with one replica and three
    Sentinels (bench/sentinel_env.py), connected as ``redis.sentinel`` connects, in the same
    run without and with ``min_replicas_ack: 1`` (a WAIT after each relay batch)."""
    from bench.sentinel_env import MASTER, SentinelCluster
    from bridge.config.models import RedisConfig
    from bridge.infra.connection import open_redis

    loaded = load_config_text(CONFIG, Path("bench.yaml"), {})
    figures: dict[int, list[float]] = {0: [], 1: []}
    with tempfile.TemporaryDirectory() as tmp, SentinelCluster(Path(tmp) / "ha") as cluster:
        for acks in (0, 1, 0, 1):  # interleaved: the machine's noise falls on both
            cfg = RedisConfig.model_validate(
                {"sentinel": {"master": MASTER, "hosts": cluster.sentinel_hosts},
                 "min_replicas_ack": acks}
            )  # fmt: skip
            handle = await open_redis(cfg, Path(tmp))
            r = handle.client
            router = build_router(loaded.config, r)

            def make(r: Redis = r, router: Any = router) -> RelayWorker:
                return RelayWorker(
                    r, router, shards=SHARDS, map_ttl_s=86400, batch=BATCH, lease_ms=2000
                )

            figures[acks].append(await bridge_throughput(r, make, n))
            await handle.close()
    without, with_wait = max(figures[0]), max(figures[1])
    print("redis: a primary, one replica, three Sentinels (redis-server 6.2, TCP on 127.0.0.1)")
    print(f"messages: {n} per run, fan-out 3, batch {BATCH}, one worker")
    print(f"min_replicas_ack 0: {' and '.join(f'{x:.0f}' for x in figures[0])} msg/s")
    print(f"min_replicas_ack 1: {' and '.join(f'{x:.0f}' for x in figures[1])} msg/s (WAIT)")
    print(f"the WAIT costs {100 * (1 - with_wait / without):.1f}% of the throughput")
    print(f"ratio: {with_wait / without:.3f}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--sentinel", action="store_true", help="against Sentinel, WAIT cost")
    args = parser.parse_args()
    if args.sentinel:
        await sentinel_run(args.messages)
        return
    loaded = load_config_text(CONFIG, Path("bench.yaml"), {})
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        try:
            r = make_client(server.url)  # the client translocal uses (hiredis packing)
            router = build_router(loaded.config, r)

            def make() -> RelayWorker:
                return RelayWorker(
                    r, router, shards=SHARDS, map_ttl_s=86400, batch=BATCH, lease_ms=2000
                )

            n = args.messages
            plain = await baseline_throughput(r, n)
            base = await script_baseline_throughput(r, n)
            ours = await bridge_throughput(r, make, n)
            base2 = await script_baseline_throughput(r, n)  # again, to see the noise
            ours2 = await bridge_throughput(r, make, n)
            lat = await latency(r, make, args.latency_seconds)
            await r.aclose()
        finally:
            server.stop()
    base_best, ours_best = max(base, base2), max(ours, ours2)
    lat_ms = sorted(x * 1000 for x in lat)
    p50 = statistics.median(lat_ms)
    p99 = lat_ms[int(len(lat_ms) * 0.99) - 1]
    parser_name = "hiredis" if HIREDIS_AVAILABLE else "pure python"
    print(f"redis: embedded 6.2 over a unix socket; reply parser: {parser_name}")
    print(f"messages: {n} per run, fan-out 3, batch {BATCH}, one worker")
    print(f"baseline, plain commands (8 per message, pipelined): {plain:.0f} msg/s")
    print(
        f"baseline, the commit script (1 per message, pipelined): {base:.0f} and {base2:.0f} msg/s"
    )
    print(f"bridge throughput:   {ours:.0f} and {ours2:.0f} msg/s (best {ours_best:.0f})")
    print(
        f"added latency at 100 msg/s over {len(lat_ms)} copies: p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )
    print(f"bridge / commit-script baseline (the Python share): {ours_best / base_best:.3f}")
    print(f"ratio: {ours_best / plain:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
