"""One instant call-out to 300 Telegram groups, against the least time Telegram's limits allow.

    .venv/bin/python bench/callout_fanout.py [--groups 300] [--scale 1.0]

The whole bridge runs (call-out scheduler, deliverers, the Telegram adapter on
python-telegram-bot) against the sandbox Bot API server enforcing Telegram's limits, with
windows scaled by ``--scale`` (1: Telegram's own). The scheduler's clock is a manual one: the
bench moves it to the fire time and the clock starts then.

Two cases: all groups behind one bot (its 30 messages a second bind), then the same number of
groups spread over three bots (each paced on its own).

- measured: from the moment the call-out is due to the last sendMessage the server accepted;
- minimum: the same sends, each at the earliest moment the server's own limiter would accept
  it (its rules replayed on a simulated clock), from that same moment;
- 429s: how many the limits gave (target: none; the bots pace themselves).

Ends with ``ratio: <measured / minimum>`` for the one-bot case (target under 1.10).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")  # as the CLI does

from bridge.app import App  # noqa: E402
from bridge.callouts.clock import ManualClock  # noqa: E402
from bridge.callouts.model import Callout  # noqa: E402
from bridge.callouts.store import CalloutStore  # noqa: E402
from bridge.config.load import load_config_text  # noqa: E402
from bridge.infra.embedded_redis import EmbeddedRedis  # noqa: E402
from sandbox.telegram import BotApiServer  # noqa: E402
from sandbox.telegram.limits import RateLimiter  # noqa: E402

FIRE = datetime(2030, 5, 1, 16, 0, tzinfo=UTC)


def token(n: int) -> str:
    return f"{5000000 + n}:{chr(ord('A') + n) * 35}"


def group(i: int) -> int:
    return -1001000000000 - i


def minimum(bot_of: list[int], scale: float) -> float:
    """The earliest the server's rules let these sends (one per group, ``bot_of[i]`` sending
    to group i) all be accepted, from the moment they may start."""
    rules = RateLimiter(scale=scale)
    last = 0.0
    for bot in set(bot_of):
        now = 0.0
        for i, owner in enumerate(bot_of):
            if owner != bot:
                continue
            while rules.check(5000000 + bot, group(i), group=True, now=now):
                now += rules.refusals[-1].wait + 1e-6
        last = max(last, now)
    return last


async def fan_out(
    redis_url: str, tmp: str, groups: int, bots: int, scale: float
) -> tuple[float, float, int, int]:
    bot_of = [1 + i % bots for i in range(groups)]
    async with BotApiServer(limits=True, scale=scale) as tg:
        for b in range(1, bots + 1):
            tg.add_bot(token(b), f"city{b}_bridge_bot")
        for i in range(groups):
            tg.create_chat(group(i), f"Group {i}")
            tg.add_member(group(i), 5000000 + bot_of[i], admin=True, announce=False)
        bot_lines = "\n".join(
            f'  - {{id: tg{b}, platform: telegram, token: "{token(b)}", api_url: "{tg.url}", '
            f"poll_timeout: 1, limits_scale: {scale}}}"
            for b in range(1, bots + 1)
        )
        room_lines = "\n".join(
            f"  - {{id: g{i}, bot: tg{bot_of[i]}, chat: {group(i)}, language: en, label: G{i}}}"
            for i in range(groups)
        )
        config = (
            f'data_dir: {tmp}/data\nredis: {{url: "{redis_url}", shards: 4}}\n'
            f"bots:\n{bot_lines}\nrooms:\n{room_lines}\n"
        )
        loaded = load_config_text(config, Path("bench.yaml"), {})
        app = App(loaded, role="all", lease_ms=2000)
        clock = ManualClock(FIRE - timedelta(minutes=1))
        app.callout_clock = clock
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(app.run(stop, ready))
        await ready.wait()
        assert app.redis is not None
        store = CalloutStore(app.redis.client)
        await store.add(
            Callout(
                id=f"bench{bots}",
                rooms=tuple(f"g{i}" for i in range(groups)),
                at=FIRE.strftime("%Y-%m-%d %H:%M"),
                mode="instant",
                language="en",
                text="General assembly tonight at 19:00, main square.",
                source="cli",
                since=(FIRE - timedelta(hours=1)).timestamp(),
            )
        )
        await asyncio.sleep(1.5)  # the scheduler has read it, the bots poll
        start = time.monotonic()
        clock.set(FIRE)
        deadline = start + 120
        while time.monotonic() < deadline:
            sends = [c.monotonic for c in tg.calls if c.method == "sendMessage"]
            if len(sends) >= groups:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await task
        sends = sorted(c.monotonic for c in tg.calls if c.method == "sendMessage")
        refusals = len(tg.refusals)
        rules = Counter(r.rule for r in tg.refusals)
        if rules:
            print(f"  ({bots} bots) 429s by rule: {dict(rules)}", file=sys.stderr)
        await app_cleanup(redis_url)
    return sends[-1] - start, minimum(bot_of, scale), refusals, len(sends)


async def app_cleanup(redis_url: str) -> None:
    from bridge.infra.connection import make_client

    client = make_client(redis_url)
    await client.flushall()
    await client.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=300)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        try:
            # redis-py 8's asyncio pool refuses a 101st connection (MaxConnectionsError) and a
            # deliverer with hundreds of chats in flight can want more: a larger pool, until
            # the deliverer bounds its own use (see the README's call-outs section)
            url = f"{server.url}?max_connections=2000"
            one = await fan_out(url, tmp, args.groups, 1, args.scale)
            three = await fan_out(url, tmp, args.groups, 3, args.scale)
        finally:
            server.stop()
    print(f"one instant call-out to {args.groups} Telegram groups; limits scaled by {args.scale}")
    for name, (measured, least, refusals, sent) in (("1 bot", one), ("3 bots", three)):
        print(f"{name}: delivered {sent}; time to the last delivery {measured:.2f} s; "
              f"minimum the limits allow {least:.2f} s ({measured / least:.3f}); "
              f"429s: {refusals}")  # fmt: skip
    print(f"ratio: {one[0] / one[1]:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
