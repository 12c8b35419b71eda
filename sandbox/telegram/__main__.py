"""`python -m sandbox.telegram`: the sandbox Bot API server on its own, until SIGINT/SIGTERM.

Set it up through the /_sandbox/ control API, or name bots on the command line:
``python -m sandbox.telegram --port 8081 --bot 123456:SECRET=relay_bot``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from sandbox.telegram.server import BotApiServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox.telegram", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port (0: any free one)")
    parser.add_argument("--no-limits", action="store_true", help="never answer 429 for floods")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="flood-limit time scale (0.05: 1 s -> 50 ms)"
    )
    parser.add_argument(
        "--bot",
        action="append",
        default=[],
        metavar="TOKEN=USERNAME",
        help="register a bot (repeatable)",
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    server = BotApiServer(args.host, args.port, limits=not args.no_limits, scale=args.scale)
    for spec in args.bot:
        token, _, username = spec.partition("=")
        server.add_bot(token, username or f"bot{token.split(':')[0]}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    print(f"Telegram Bot API sandbox on {server.url} (bots use base_url {server.url}/bot)")
    print("control API under /_sandbox/; stop with Ctrl-C", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(_serve(_parser().parse_args(argv)))


if __name__ == "__main__":
    main()
