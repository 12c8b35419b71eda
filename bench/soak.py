"""Soak: the real bridge under steady load with faults, and its memory over a long run.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 50] [--kill-every 60]
    .venv/bin/python bench/soak.py --messages 1000000

Both runs start the embedded redis-server (append-only, as translocal runs it) in a fresh
``data_dir`` and the bridge as its own process (``translocal run``, which joins that server),
so that the memory of each is its own.

Throttled run (the default): members of four Telegram groups write ``--rate`` messages a
second in all, for ``--minutes``; every message crosses to the three other groups through
two Telegram bots on the sandbox Bot API server, whose limit windows are scaled down (and
the bots pace themselves on the same windows). Faults all along: the server answers a
fraction of sendMessage calls with 429 or 500/502, or holds them and fails them without
acting, and the bridge process is SIGKILLed every ``--kill-every`` seconds and started
again. Printed: messages in, copies delivered, lost and duplicated (Telegram has no
idempotency key: a copy sent just before a kill and not yet recorded goes again), the
latency from a member's post to the copy's arrival (p50, p99), and the peak resident memory
(VmHWM) of the bridge and of redis-server. Ends with ``ratio: <copies delivered / copies
expected>`` (1 when nothing is lost).

Memory run (``--messages N``): unthrottled. The bench puts envelopes into the inbox as an
adapter does; the bridge relays each to one room of a counting bot (a platform of this
bench that keeps nothing: it sets one bit per message, to count duplicates, and a latency
histogram, in Redis). The bridge's resident memory (VmRSS) after 10,000 messages relayed
and after N is printed, and the run ends with ``ratio: <after N / after 10,000>``.

After either run the bench looks for message bodies at rest: every Redis key (keys design.md
names may hold them: in-flight streams, the recent buffer, the translation cache, dead
letters, carried media; no other), every file in ``data_dir``, and the append-only file
before and after a BGREWRITEAOF (read as bytes, and loaded into a scratch redis-server,
since a rewritten file starts with a compressed RDB preamble).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")  # as the CLI does

import yaml  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from bridge.config.models import BotSettings  # noqa: E402
from bridge.infra.bus import shard_of  # noqa: E402
from bridge.infra.connection import make_client  # noqa: E402
from bridge.infra.embedded_redis import EmbeddedRedis  # noqa: E402
from bridge.model import keys  # noqa: E402
from bridge.model.envelope import Envelope, Sender  # noqa: E402
from bridge.model.platforms import Platform, register  # noqa: E402
from bridge.model.ports import BotContext, Job  # noqa: E402

MiB = 1024 * 1024
TEXT = "Asamblea el jueves a las siete en la plaza, traigan agua y pancartas para todas."

# ---- a bot that only counts (the memory run's platform) -----------------------------------

SEEN = "soak:seen"  # bitmap: message index -> delivered at least once
DUPLICATES = "soak:duplicates"
DELIVERED = "soak:delivered"
LATENCY = "soak:latency"  # hash: log-scaled bucket -> count


class SoakSettings(BotSettings):
    platform: Literal["soak"]


def bucket(seconds: float) -> int:
    """A latency bucket, about 2% wide: ``int(50 * ln(1 + ms))``."""
    return int(50 * math.log1p(max(seconds, 0.0) * 1000))


def bucket_seconds(b: int) -> float:
    return math.expm1(b / 50) / 1000


class SoakBot:
    """Keeps nothing in memory: what it delivers is counted in Redis."""

    def __init__(self, ctx: BotContext) -> None:
        self.id = ctx.settings.id
        self.redis = ctx.redis

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def deliver(self, job: Job) -> list[str]:
        d = job.delivery
        if d.notice or d.action != "send":
            return []
        index = int(d.origin.id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.setbit(SEEN, index, 1)
            pipe.incr(DELIVERED)
            pipe.hincrby(LATENCY, str(bucket(time.time() - d.received)), 1)
            before, _, _ = await pipe.execute()
        if before:
            await self.redis.incr(DUPLICATES)
        return [f"{d.room}:{index}"]


register(
    Platform(
        name="soak",
        settings=SoakSettings,
        check_chat=lambda chat: None,
        identity=lambda settings: f"soak:{settings.id}",
        factory=lambda ctx: SoakBot(ctx),
    )
)

# ---- processes and their memory --------------------------------------------------------------


def memory_of(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in bytes; (0, 0) when it is gone."""
    found = {"VmRSS": 0, "VmHWM": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in found:
                found[name] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return found["VmRSS"], found["VmHWM"]


class Bridge:
    """``translocal run`` as a process of its own (knowing this bench's platform too)."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak = 0  # the highest VmHWM of any bridge process so far
        self.kills = 0

    def start(self) -> None:
        command = [sys.executable, __file__, "_bridge", "run", "-c", str(self.config)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*command, "--lease-ms", "2000"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                cwd=ROOT,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def sample(self) -> int:
        rss, hwm = memory_of(self.pid)
        self.peak = max(self.peak, hwm)
        return rss

    def kill(self) -> None:
        assert self.proc is not None
        self.sample()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def stop(self) -> int:
        assert self.proc is not None
        self.sample()
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)

    def errors(self) -> list[str]:
        lines = self.log.read_text(errors="replace").splitlines()
        return [line for line in lines if "Traceback" in line or " ERROR " in line]

    async def ready(self, since: int) -> None:
        """Wait until the process started last says it is running."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.log.read_text(errors="replace").count("translocal is running") > since:
                return
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise SystemExit(f"the bridge exited ({self.proc.returncode}); see {self.log}")
            await asyncio.sleep(0.1)
        raise SystemExit(f"the bridge did not start; see {self.log}")


def redis_pid(data_dir: Path) -> int:
    return int(json.loads((data_dir / "redis" / "server.json").read_text())["pid"])


# ---- bodies at rest --------------------------------------------------------------------------

NAMED = {  # where design.md lets message text rest (each expiring), by key prefix
    "tl:inbox:": "in-flight inbox",
    "tl:outbox:": "in-flight outbox",
    "tl:recent:": "recent buffer",
    "tl:tcache:": "translation cache",
    "tl:deadletter": "dead letters",
    "tl:media:": "carried media",
}


def named(key: str) -> str | None:
    return next((what for prefix, what in NAMED.items() if key.startswith(prefix)), None)


async def values(r: Redis, batch: list[str]) -> list[str]:
    """Everything each key holds, as one string per key."""
    async with r.pipeline(transaction=False) as pipe:
        for key in batch:
            pipe.type(key)
        kinds = await pipe.execute()
    async with r.pipeline(transaction=False) as pipe:
        for key, kind in zip(batch, kinds, strict=True):
            if kind == "string":
                pipe.get(key)
            elif kind == "hash":
                pipe.hgetall(key)
            elif kind == "stream":
                pipe.xrange(key)
            elif kind == "list":
                pipe.lrange(key, 0, -1)
            elif kind == "set":
                pipe.smembers(key)
            elif kind == "zset":
                pipe.zrange(key, 0, -1)
            else:
                pipe.exists(key)
        return [key + repr(value) for key, value in zip(batch, await pipe.execute(), strict=True)]


async def bodies_in_redis(r: Redis, marker: str) -> tuple[Counter[str], list[str]]:
    """Keys holding message text: how many per named kind, and the keys outside them."""
    found: Counter[str] = Counter()
    outside: list[str] = []
    batch: list[str] = []

    async def check() -> None:
        for key, held in zip(batch, await values(r, batch), strict=True):
            if marker in held:
                what = named(key)
                if what is None:
                    outside.append(key)
                else:
                    found[what] += 1
        batch.clear()

    async for key in r.scan_iter(count=2000):
        if key.startswith("soak:"):
            continue  # this bench's own counters
        batch.append(key)
        if len(batch) >= 1000:
            await check()
    if batch:
        await check()
    return found, outside


def bodies_in_files(directory: Path, marker: str) -> dict[str, int]:
    """Files that hold message text (raw bytes), and how many times."""
    needle = marker.encode()
    found: dict[str, int] = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.is_socket():
            with contextlib.suppress(OSError):
                count = path.read_bytes().count(needle)
                if count:
                    found[str(path.relative_to(directory))] = count
    return found


async def rewrite_aof(r: Redis) -> None:
    await r.bgrewriteaof()
    while True:
        info = await r.info("persistence")
        if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
            return
        await asyncio.sleep(0.1)


async def bodies_in_aof_dataset(aof: Path, marker: str) -> tuple[Counter[str], list[str]]:
    """Load a copy of the append-only file into a scratch redis-server and look there."""
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "redis").mkdir(mode=0o700)
        shutil.copy(aof, Path(scratch) / "redis" / "appendonly.aof")
        server = EmbeddedRedis(Path(scratch))
        await asyncio.to_thread(server.start)
        try:
            r = make_client(server.url)
            try:
                return await bodies_in_redis(r, marker)
            finally:
                await r.aclose()
        finally:
            await asyncio.to_thread(server.stop)


async def hygiene(r: Redis, data_dir: Path, marker: str) -> list[str]:
    """The lines to print about bodies at rest; each ends with whether all is well."""
    lines = []
    found, outside = await bodies_in_redis(r, marker)
    kinds = ", ".join(f"{what} {found[what]}" for what in NAMED.values())
    lines.append(
        f"redis keys holding message text: {sum(found.values())} in named keys "
        f"({kinds}); outside them: {len(outside)} {outside[:5]}"
    )
    aof = data_dir / "redis" / "appendonly.aof"
    before = aof.read_bytes().count(marker.encode()) if aof.exists() else 0
    await rewrite_aof(r)
    after = aof.read_bytes().count(marker.encode()) if aof.exists() else 0
    in_file, file_outside = await bodies_in_aof_dataset(aof, marker)
    lines.append(
        f"appendonly.aof: {before} bodies on disk before BGREWRITEAOF (the bridge "
        f"rewrites it after a retract and hourly); after it: {after} in its bytes, "
        f"{sum(in_file.values())} in named keys and {len(file_outside)} outside "
        "them once loaded"
    )
    files = {
        p: n for p, n in bodies_in_files(data_dir, marker).items() if p != "redis/appendonly.aof"
    }
    lines.append(f"other files in data_dir holding message text: {files or 'none'}")
    clean = not outside and not file_outside and not files
    lines.append(f"bodies outside the named keys after the run: {'none' if clean else 'FOUND'}")
    return lines


# ---- the throttled run: Telegram groups on the sandbox, with faults -------------------------

TOKENS = [
    "5000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "5000002:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
]
GROUPS = [-1001000000001, -1001000000002, -1001000000003, -1001000000004]
MEMBERS = [3001, 3002, 3003, 3004]


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


async def throttled(args: argparse.Namespace, tmp: Path) -> None:
    from sandbox.telegram import BotApiServer

    data_dir = tmp / "data"
    server = EmbeddedRedis(data_dir)
    server.start()
    marker = f"soak{uuid.uuid4().hex[:10]}"
    try:
        async with BotApiServer(limits=True, scale=args.scale) as tg:
            for n, token in enumerate(TOKENS):
                tg.add_bot(token, f"soak{n}_bot")
            for n, (group, person) in enumerate(zip(GROUPS, MEMBERS, strict=True)):
                tg.add_user(person, f"Member{n}")
                tg.create_chat(group, f"Group {n}")
                tg.add_member(group, int(TOKENS[n // 2].split(":")[0]), admin=True, announce=False)
                tg.add_member(group, person)
            tg.faults(
                p_5xx=args.p_5xx,
                p_429=args.p_429,
                p_timeout=args.p_timeout,
                timeout_s=1.0,
                seed=1,
                methods=["sendMessage"],
            )
            config = {
                "data_dir": str(data_dir),
                "redis": {"shards": 16},
                "bots": [
                    {
                        "id": f"t{n}",
                        "platform": "telegram",
                        "token": token,
                        "api_url": tg.url,
                        "poll_timeout": 1,
                        "limits_scale": args.scale,
                    }
                    for n, token in enumerate(TOKENS)
                ],
                "rooms": [
                    {
                        "id": f"g{n}",
                        "bot": f"t{n // 2}",
                        "chat": group,
                        "language": "es",
                        "label": f"G{n}",
                    }
                    for n, group in enumerate(GROUPS)
                ],
                "circles": [{"id": "net", "rooms": [f"g{n}" for n in range(4)], "relay": "all"}],
                "limits": {"per_sender_per_minute": 10_000_000, "per_room_per_minute": 10_000_000},
            }
            path = tmp / "soak.yaml"
            path.write_text(yaml.safe_dump(config))
            bridge = Bridge(path, tmp / "bridge.log")
            bridge.start()
            await bridge.ready(0)
            r = make_client(server.url)
            rpid = redis_pid(data_dir)
            redis_peak = 0
            posted: dict[int, tuple[int, float]] = {}  # index -> (group, when)
            total = int(args.minutes * 60 * args.rate)
            start = time.monotonic()
            next_kill = start + args.kill_every if args.kill_every else math.inf
            last_sample = 0.0
            next_report = start + 60
            print(
                f"soak: {args.minutes:g} min at {args.rate:g} msg/s: {total} messages into "
                f"4 Telegram groups (sandbox, limit windows x{args.scale:g}), each to the 3 "
                "others",
                flush=True,
            )
            for i in range(total):
                due = start + i / args.rate
                if (wait := due - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                group = GROUPS[i % 4]
                tg.post(group, MEMBERS[i % 4], f"{marker}-{i} {TEXT}")
                posted[i] = (group, time.monotonic())
                now = time.monotonic()
                if now >= next_kill:  # members keep writing while it starts again
                    bridge.kill()
                    bridge.start()
                    next_kill = now + args.kill_every
                if now - last_sample >= 1.0:
                    last_sample = now
                    bridge.sample()
                    redis_peak = max(redis_peak, memory_of(rpid)[1])
                    if now >= next_report:
                        next_report = now + 60
                        print(
                            f"  {i} posted, {len(tg.calls)} sent, bridge "
                            f"{memory_of(bridge.pid)[0] / MiB:.0f} MiB",
                            flush=True,
                        )

            def copies() -> dict[tuple[int, int], list[float]]:
                """(message, group) -> when each copy arrived."""
                found: dict[tuple[int, int], list[float]] = {}
                for call in tg.calls:
                    if call.method != "sendMessage" or call.chat_id is None:
                        continue
                    message = tg.world.chats[call.chat_id].messages.get(call.message_id or 0)
                    text = getattr(message, "text", "") or ""
                    head = text.split("\n", 1)[1].split(" ", 1)[0] if "\n" in text else ""
                    if head.startswith(f"{marker}-"):
                        key = (int(head.rsplit("-", 1)[1]), call.chat_id)
                        found.setdefault(key, []).append(call.monotonic)
                return found

            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if len(copies()) >= 3 * total:
                    break
                bridge.sample()
                redis_peak = max(redis_peak, memory_of(rpid)[1])
                await asyncio.sleep(2)
            code = bridge.stop()
            redis_peak = max(redis_peak, memory_of(rpid)[1])
            arrived = copies()
            latencies = sorted(
                min(times) - posted[index][1] for (index, _), times in arrived.items()
            )
            duplicates = sum(len(times) - 1 for times in arrived.values())
            expected = 3 * total
            print(f"messages in: {total}")
            print(f"copies expected: {expected}; delivered: {len(arrived)}")
            print(f"lost: {expected - len(arrived)}")
            print(
                f"duplicated: {duplicates} (Telegram, a copy sent just before a kill "
                "and not yet recorded)"
            )
            print(
                f"latency, post to copy: p50 {percentile(latencies, 0.5):.3f} s, "
                f"p99 {percentile(latencies, 0.99):.3f} s"
            )
            print(
                f"peak memory (VmHWM): bridge {bridge.peak / MiB:.1f} MiB, "
                f"redis-server {redis_peak / MiB:.1f} MiB"
            )
            given = Counter(kind for (kind, _), n in tg.fault_counts.items() for _ in range(n))
            print(
                f"faults: {dict(given)} on sendMessage; bridge SIGKILLed {bridge.kills} times; "
                f"last exit code {code}; error lines in its log: {len(bridge.errors())}"
            )
            for line in await hygiene(r, data_dir, marker):
                print(line)
            await r.aclose()
            print(f"ratio: {len(arrived) / expected:.4f}")
    finally:
        server.stop()


# ---- the memory run: a counting bot, unthrottled --------------------------------------------

ORIGINS = 8  # rooms messages come from, each paired with a room they go to


async def memory(args: argparse.Namespace, tmp: Path) -> None:
    data_dir = tmp / "data"
    server = EmbeddedRedis(data_dir)
    server.start()
    marker = f"soak{uuid.uuid4().hex[:10]}"
    n = args.messages
    try:
        rooms = [
            {"id": f"o{k}", "bot": "src", "chat": f"o{k}", "language": "es", "label": f"O{k}"}
            for k in range(ORIGINS)
        ]
        rooms += [
            {
                "id": f"t{k}",
                "bot": f"dst{k % 2}",
                "chat": f"t{k}",
                "language": "es",
                "label": f"T{k}",
            }
            for k in range(ORIGINS)
        ]
        config = {
            "data_dir": str(data_dir),
            "redis": {"shards": 16},
            "bots": [{"id": b, "platform": "soak"} for b in ("src", "dst0", "dst1")],
            "rooms": rooms,
            "circles": [
                {"id": f"c{k}", "rooms": [f"o{k}", f"t{k}"], "relay": "all"} for k in range(ORIGINS)
            ],
            "limits": {"per_sender_per_minute": 10_000_000, "per_room_per_minute": 10_000_000},
        }
        path = tmp / "soak.yaml"
        path.write_text(yaml.safe_dump(config))
        bridge = Bridge(path, tmp / "bridge.log")
        bridge.start()
        await bridge.ready(0)
        r = make_client(server.url)
        rpid = redis_pid(data_dir)
        print(
            f"memory run: {n} messages, unthrottled, each to one room of a counting bot", flush=True
        )
        sender = Sender(id="soak:ana", name="Ana")
        window = 5000
        published = delivered = 0
        at_10k = 0
        redis_peak = 0
        start = last_report = time.monotonic()
        while delivered < n:
            delivered = int(await r.get(DELIVERED) or 0)
            if not at_10k and delivered >= 10_000:
                at_10k = bridge.sample()
                print(f"  after {delivered} relayed: bridge {at_10k / MiB:.1f} MiB", flush=True)
            if published < n and published - delivered < window:
                batch = min(500, n - published)
                async with r.pipeline(transaction=False) as pipe:
                    for i in range(published, published + batch):
                        k = i % ORIGINS
                        envelope = Envelope(
                            key=f"soak:{i}",
                            kind="message",
                            bot="src",
                            chat=f"o{k}",
                            message_id=str(i),
                            sender=sender,
                            text=f"{marker}-{i} {TEXT}",
                        )
                        stream = keys.inbox(shard_of(envelope.bot, envelope.chat, 16))
                        pipe.xadd(stream, {"d": envelope.model_dump_json()})
                    await pipe.execute()
                published += batch
            else:
                await asyncio.sleep(0.02)
            if time.monotonic() - last_report > 60:
                last_report = time.monotonic()
                bridge.sample()
                redis_peak = max(redis_peak, memory_of(rpid)[1])
                rate = delivered / (last_report - start)
                print(
                    f"  {delivered} relayed ({rate:.0f}/s), bridge "
                    f"{memory_of(bridge.pid)[0] / MiB:.1f} MiB, redis "
                    f"{memory_of(rpid)[0] / MiB:.0f} MiB",
                    flush=True,
                )
        elapsed = time.monotonic() - start
        at_n = bridge.sample()
        redis_peak = max(redis_peak, memory_of(rpid)[1])
        seen = int(await r.bitcount(SEEN))
        duplicates = int(await r.get(DUPLICATES) or 0)
        histogram = {int(k): int(v) for k, v in (await r.hgetall(LATENCY)).items()}
        code = bridge.stop()
        print(f"messages in: {n}; delivered: {seen}; lost: {n - seen}; duplicated: {duplicates}")
        print(f"throughput: {n / elapsed:.0f} msg/s over {elapsed:.0f} s")
        p50, p99 = _histogram_percentiles(histogram, (0.5, 0.99))
        print(f"latency, inbox to delivered: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
        print(
            f"peak memory (VmHWM): bridge {bridge.peak / MiB:.1f} MiB, "
            f"redis-server {redis_peak / MiB:.1f} MiB"
        )
        print(f"bridge exit code {code}; error lines in its log: {len(bridge.errors())}")
        for line in await hygiene(r, data_dir, marker):
            print(line)
        await r.aclose()
        print(
            f"bridge resident memory: {at_10k / MiB:.1f} MiB after 10,000 relayed, "
            f"{at_n / MiB:.1f} MiB after {n:,}"
        )
        print(f"ratio: {at_n / at_10k:.3f}")
    finally:
        server.stop()


def _histogram_percentiles(histogram: dict[int, int], ps: tuple[float, ...]) -> Iterator[float]:
    total = sum(histogram.values())
    for p in ps:
        want, seen = p * total, 0
        for b in sorted(histogram):
            seen += histogram[b]
            if seen >= want:
                yield bucket_seconds(b)
                break
        else:
            yield float("nan")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_bridge":  # the bridge's own process
        from bridge.cli import main as translocal

        sys.argv = ["translocal", *sys.argv[2:]]
        translocal()
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=50.0, help="messages a second, in all")
    parser.add_argument(
        "--kill-every",
        type=float,
        default=60.0,
        help="seconds between SIGKILLs of the bridge (0: never)",
    )
    parser.add_argument(
        "--scale", type=float, default=0.004, help="Telegram's limit windows scaled by this"
    )
    parser.add_argument("--p-5xx", type=float, default=0.002)
    parser.add_argument("--p-429", type=float, default=0.001)
    parser.add_argument("--p-timeout", type=float, default=0.001)
    parser.add_argument(
        "--messages", type=int, default=0, help="the memory run: relay this many, unthrottled"
    )
    args = parser.parse_args()
    random.seed(1)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        run = memory if args.messages else throttled
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
