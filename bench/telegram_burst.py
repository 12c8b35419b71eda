"""200 messages into one Telegram group, against the least time Telegram's limits allow.

    .venv/bin/python bench/telegram_burst.py [--messages 200] [--scale 0.02]

The whole bridge runs (relay, deliverer, the Telegram adapter on python-telegram-bot) against
the sandbox Bot API server enforcing Telegram's limits on windows shortened by ``--scale``
(1 s becomes scale seconds). The messages come from an in-memory room, all at once.

- measured: from the first sendMessage the server accepted to the last;
- minimum: the same number of sends, each at the earliest moment the server's own limiter
  would accept it (computed by replaying its rules on a simulated clock);
- 429s: how many the limits gave (target: none; the adapter paces itself).

Ends with ``ratio: <measured / minimum>`` (target under 1.10).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")  # as the CLI does

import tests.memory_bot  # noqa: E402, F401 - the in-memory platform for the origin room
from bridge.app import App  # noqa: E402
from bridge.config.load import load_config_text  # noqa: E402
from bridge.infra.embedded_redis import EmbeddedRedis  # noqa: E402
from sandbox.telegram import BotApiServer  # noqa: E402
from sandbox.telegram.limits import RateLimiter  # noqa: E402
from tests.memory_bot import NETWORK  # noqa: E402

TOKEN = "5000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
GROUP = -1001000000001


def minimum(n: int, scale: float) -> float:
    """The earliest the server's rules let ``n`` sends into one group end, from the first."""
    rules = RateLimiter(scale=scale)
    now, first = 0.0, None
    for _ in range(n):
        while rules.check(5000001, GROUP, group=True, now=now):
            now += rules.refusals[-1].wait + 1e-6
        first = now if first is None else first
    return now - (first or 0.0)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--scale", type=float, default=0.02)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        try:
            async with BotApiServer(limits=True, scale=args.scale) as tg:
                tg.add_bot(TOKEN, "cdmx_bridge_bot")
                tg.create_chat(GROUP, "Inquilinas CDMX")
                tg.add_member(GROUP, 5000001, admin=True, announce=False)
                config = f"""
data_dir: {tmp}/data
redis: {{url: "{server.url}", shards: 4}}
bots:
  - {{id: tg, platform: telegram, token: "{TOKEN}", api_url: "{tg.url}", poll_timeout: 1,
     limits_scale: {args.scale}}}
  - {{id: mem, platform: memory}}
rooms:
  - {{id: cdmx, bot: tg, chat: {GROUP}, language: es, label: CDMX}}
  - {{id: nyc, bot: mem, chat: nyc, language: es, label: NYC}}
limits: {{per_sender_per_minute: 10000000, per_room_per_minute: 10000000}}
circles:
  - {{id: net, rooms: [cdmx, nyc], relay: all}}
"""
                loaded = load_config_text(config, Path("bench.yaml"), {})
                app = App(loaded, lease_ms=2000)
                stop, ready = asyncio.Event(), asyncio.Event()
                task = asyncio.create_task(app.run(stop, ready))
                await ready.wait()
                for i in range(args.messages):
                    await NETWORK.bot("mem").post("nyc", f"mensaje {i}")
                deadline = time.monotonic() + 600
                while len(tg.messages(GROUP)) < args.messages and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                stop.set()
                await task
                sends = [c.monotonic for c in tg.calls if c.method == "sendMessage"]
                in_order = [m["text"].split("\n")[1] for m in tg.messages(GROUP)] == [
                    f"mensaje {i}" for i in range(args.messages)
                ]
                refusals = len(tg.refusals)
        finally:
            server.stop()
    measured = sends[-1] - sends[0]
    least = minimum(args.messages, args.scale)
    print(f"messages: {args.messages} into one group; limits scaled by {args.scale}")
    print(f"delivered: {len(sends)}, in order: {in_order}")
    print(f"measured: {measured:.2f} s; minimum the limits allow: {least:.2f} s")
    print(f"429s given by the limits: {refusals}")
    print(f"ratio: {measured / least:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
