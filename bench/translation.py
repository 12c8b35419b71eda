"""Translation to five languages at once, against one call; and the cost of a cache hit.

    .venv/bin/python bench/translation.py [--delay 0.2] [--rounds 5]

The provider is the sandbox LibreTranslate server with a fixed delay per call, over HTTP.
- one call: a message to one target language (the baseline, measured in the same run);
- five languages: the same message to de, en, ca, fr, it; translated concurrently, its wall
  time should stay near one call's;
- cache hits: the same message again, answered from Redis (embedded), per message.

Ends with ``ratio: <wall time for five languages / wall time for one call>`` (target < 1.3).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.infra.connection import make_client  # noqa: E402
from bridge.infra.embedded_redis import EmbeddedRedis  # noqa: E402
from sandbox.libretranslate import LibreTranslateServer  # noqa: E402
from translation.cache import TranslationCache  # noqa: E402
from translation.providers import LibreTranslate  # noqa: E402
from translation.translator import ChainTranslator  # noqa: E402

TARGETS = {"de", "en", "ca", "fr", "it"}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.2, help="seconds per provider call")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hits", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        r = make_client(server.url)
        try:
            async with LibreTranslateServer() as libre:
                libre.slow(args.delay)
                plain = ChainTranslator([LibreTranslate(libre.url)])
                one, five = [], []
                for i in range(args.rounds):
                    text = f"Asamblea número {i} de inquilinas el jueves a las 19h."
                    started = time.perf_counter()
                    await plain.translate(text, "es", {"de"})
                    one.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    results = await plain.translate(text + " Vengan.", "es", TARGETS)
                    five.append(time.perf_counter() - started)
                    assert all(res.status == "translated" for res in results.values())
                concurrent = libre.max_in_flight
                await plain.close()

                cached = ChainTranslator(
                    [LibreTranslate(libre.url)], cache=TranslationCache(r, "bench:", 3600)
                )
                text = "Bloqueo mañana a las 7 frente al edificio."
                await cached.translate(text, "es", TARGETS)  # fills the cache
                calls = libre.calls
                started = time.perf_counter()
                for _ in range(args.hits):
                    await cached.translate(text, "es", TARGETS)
                hit = (time.perf_counter() - started) / args.hits
                assert libre.calls == calls, "a cache hit called the provider"
                await cached.close()
        finally:
            await r.aclose()
            server.stop()
    one_s, five_s = statistics.median(one), statistics.median(five)
    print(f"provider delay: {args.delay * 1000:.0f} ms per call; {args.rounds} rounds, medians")
    print(f"one language:   {one_s * 1000:.1f} ms")
    print(f"five languages: {five_s * 1000:.1f} ms ({concurrent} calls in flight at most)")
    print(f"cache hit, five languages: {hit * 1e6:.0f} us per message (no provider call)")
    print(f"ratio: {five_s / one_s:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
