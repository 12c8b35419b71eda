"""`python -m sandbox.libretranslate --port 5055`: the stand-in alone, until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from sandbox.libretranslate.server import LibreTranslateServer


async def _serve(args: argparse.Namespace) -> None:
    languages = args.languages.split(",") if args.languages else None
    server = LibreTranslateServer(args.host, args.port, args.api_key, languages)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        print(f"LibreTranslate sandbox at {server.url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.libretranslate", description="A LibreTranslate stand-in."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--api-key", default=None, help="require this api_key on /translate")
    parser.add_argument("--languages", default=None, help="comma-separated codes, e.g. en,es,de")
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
