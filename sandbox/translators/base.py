"""StandIn: what the provider stand-ins share. A real aiohttp server in the caller's loop
that translates from the LibreTranslate sandbox's phrase table (anything else comes back as
`[<target>] <text>`), counts every call, remembers where the key came (header, query, body)
and which host path was used, and fails or lies on demand:

- `fail(status, n)`: the next n translate calls answer `status` with the provider's own
  error body (456, 403, 429, 401 ...); n=None: every call until `reset()`;
- `lie(how)`: `html` (a 200 with an HTML page), `empty` (empty strings), `segments` (one
  segment more than asked), `language` (the text handed back in its own language).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Literal, Self

from aiohttp import web

from sandbox.libretranslate.phrases import builtin_groups

log = logging.getLogger(__name__)

Lie = Literal["html", "empty", "segments", "language"]
HTML_PAGE = "<!DOCTYPE html><html><body><h1>Service unavailable</h1></body></html>"


@dataclass(frozen=True)
class Seen:
    """One request as the server saw it (never the text: only where things came)."""

    path: str
    query: str
    key_in_header: bool
    key_elsewhere: bool  # in the query string or the body: refused


class StandIn:
    name = "stand-in"

    def __init__(self, api_key: str = "sandbox-key", host: str = "127.0.0.1", port: int = 0):
        self.api_key, self.host, self.port = api_key, host, port
        self._phrases: dict[str, dict[str, str]] = {}
        for group in builtin_groups():
            for text in group.values():
                self._phrases[text.strip()] = group
        self._runner: web.AppRunner | None = None
        self.reset()

    # -- controls --

    def reset(self) -> None:
        self.calls = 0  # translate requests, refused ones included
        self.texts: list[tuple[str, str, str]] = []  # (source, target, text) translated
        self.seen: list[Seen] = []
        self.paths: Counter[str] = Counter()
        self.connections: set[tuple[str, int]] = set()  # client (host, port): reuse shows
        self._fail: list[int] = []
        self._fail_always: int | None = None
        self._lie: Lie | None = None

    def fail(self, status: int, n: int | None = 1) -> None:
        if n is None:
            self._fail_always = status
        else:
            self._fail += [status] * n

    def lie(self, how: Lie | None) -> None:
        self._lie = how

    # -- for the provider handlers --

    def next_failure(self) -> int | None:
        if self._fail:
            return self._fail.pop(0)
        return self._fail_always

    def count(self, request: web.Request, key_in_header: bool, key_elsewhere: bool) -> None:
        self.calls += 1
        self.paths[request.path] += 1
        self.seen.append(Seen(request.path, request.query_string, key_in_header, key_elsewhere))
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer:
            self.connections.add((str(peer[0]), int(peer[1])))

    def translate_all(self, texts: list[str], source: str, target: str) -> list[str]:
        """`target` is an ISO 639-1 code here; the handlers map the provider's codes."""
        if self._lie == "empty":
            return ["" for _ in texts]
        out = []
        for text in texts:
            self.texts.append((source, target, text))
            group = self._phrases.get(text.strip())
            if self._lie == "language":
                out.append(text)
            elif group and target in group:
                out.append(group[target])
            else:
                out.append(f"[{target}] {text}")
        return out + (["extra"] if self._lie == "segments" else [])

    def html_lie(self) -> web.Response | None:
        return (
            web.Response(text=HTML_PAGE, content_type="text/html") if self._lie == "html" else None
        )

    # -- lifecycle --

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        log.info("%s stand-in listening on %s", self.name, self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
