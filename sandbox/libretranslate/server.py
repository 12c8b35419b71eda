"""LibreTranslateServer: LibreTranslate's HTTP API on this machine, with faults on demand.

`POST /translate` and `GET /languages` answer in LibreTranslate's shapes, translating from the
phrase table (`phrases`). Faults (500s, hangs, delays, 403s, 429s) and mangling are switched
on from Python or over HTTP under `/_sandbox/...`; every call is counted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import secrets
from collections import Counter
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from sandbox.libretranslate.phrases import (
    DEFAULT_LANGUAGES,
    NAMES,
    builtin_groups,
    guess_language,
    mangle,
)

log = logging.getLogger(__name__)

_json = functools.partial(
    web.json_response, dumps=functools.partial(json.dumps, ensure_ascii=False)
)


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status=status)


class BadRequest(Exception):
    """A request LibreTranslate would answer with 400."""


class LibreTranslateServer:
    """The server, run in the caller's event loop; faults and counters live on the object."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        languages: list[str] | None = None,
    ) -> None:
        self.host, self.port, self.api_key = host, port, api_key
        self.languages = list(languages or DEFAULT_LANGUAGES)
        self._phrases: dict[str, dict[str, str]] = {}  # stripped text -> its group
        for group in builtin_groups():
            self.add_phrases({next(iter(group.values())): group})
        self._runner: web.AppRunner | None = None
        self._unhang = asyncio.Event()  # cleared while hanging
        self._stopping = asyncio.Event()
        self.in_flight = 0
        self.reset()

    # -- controls --

    def reset(self) -> None:
        """Clear counters, the log and every fault (mangling included); the phrase table stays."""
        self.calls = 0
        self.pairs: Counter[tuple[str, str]] = Counter()
        self.log: list[tuple[str, str, str]] = []
        self.max_in_flight = self.in_flight
        self._fail_left: float = 0
        self._rate_left = 0
        self._delay = 0.0
        self._forbidden = self._mangling = False
        self._unhang.set()

    def fail(self, n: int | None = None) -> None:
        """Answer 500 to the next n calls; to every call until reset when n is None."""
        self._fail_left = math.inf if n is None else n

    def hang(self, on: bool = True) -> None:
        """Accept calls and never answer them, until hang(False), reset() or stop()."""
        if on:
            self._unhang.clear()
        else:
            self._unhang.set()

    def slow(self, seconds: float) -> None:
        self._delay = max(0.0, seconds)

    def forbid(self, on: bool = True) -> None:
        self._forbidden = on

    def rate_limit(self, n: int) -> None:
        self._rate_left = n

    def mangle(self, on: bool = True) -> None:
        self._mangling = on

    def add_phrases(self, table: dict[str, dict[str, str]]) -> None:
        """Add `{source text: {lang: translation}}`; every text translates to its siblings.
        List the source under its own code too, to make it detectable and a target."""
        for source, versions in table.items():
            group = self._phrases.get(source.strip(), {})
            group.update({lang: text.strip() for lang, text in versions.items()})
            for text in [source, *group.values()]:
                self._phrases[text.strip()] = group

    # -- lifecycle --

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/translate", self._handle_translate)
        app.router.add_get("/languages", self._handle_languages)
        app.router.add_get("/_sandbox/stats", self._handle_stats)
        app.router.add_post("/_sandbox/{action}", self._handle_control)
        self._stopping.clear()
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        log.info("LibreTranslate sandbox listening on %s", self.url)

    async def stop(self) -> None:
        self._stopping.set()
        self._unhang.set()  # hung and slow calls give up with a 503 rather than hold the stop
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def __aenter__(self) -> LibreTranslateServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- translation --

    def translate(self, text: str, target: str) -> str:
        group = self._phrases.get(text.strip())
        out = group[target] if group and target in group else f"[{target}] {text}"
        return mangle(out) if self._mangling else out

    def detect(self, text: str) -> str:
        group = self._phrases.get(text.strip(), {})
        known = [lang for lang, version in group.items() if version == text.strip()]
        lang = known[0] if known else guess_language(text)
        return lang if lang in self.languages else self.languages[0]

    # -- HTTP --

    async def _handle_translate(self, request: web.Request) -> web.Response:
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.Response:
        problem = ""
        try:
            params = await _read_params(request)
        except BadRequest as exc:
            params, problem = {}, str(exc)
        self._record(params)
        await self._unhang.wait()
        if self._delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._delay)
        if self._stopping.is_set():
            return _error(503, "Server is shutting down")
        if self._forbidden:
            return _error(403, "Invalid API key")
        if self._rate_left > 0:
            self._rate_left -= 1
            return _error(429, "Too many request limits violation")
        if self._fail_left > 0:
            self._fail_left -= 1
            return _error(500, "Cannot translate text: sandbox failure")
        if problem:
            return _error(400, problem)
        given_key = params.get("api_key")
        if self.api_key is not None and not (
            isinstance(given_key, str) and secrets.compare_digest(given_key, self.api_key)
        ):
            return _error(403, "Invalid API key")
        try:
            return _json(self._translate_request(params))
        except BadRequest as exc:
            return _error(400, str(exc))

    def _record(self, params: Mapping[str, object]) -> None:
        source, target, q = params.get("source"), params.get("target"), params.get("q")
        if isinstance(source, str) and isinstance(target, str):
            self.pairs[source, target] += 1
            for text in q if isinstance(q, list) else [q]:
                if isinstance(text, str):
                    self.log.append((source, target, text))
                    log.debug("translate %s->%s: %d chars", source, target, len(text))

    def _translate_request(self, params: Mapping[str, object]) -> dict[str, object]:
        q, source, target = params.get("q"), params.get("source"), params.get("target")
        text_format = params.get("format") or "text"
        for name, value in (("q", q), ("source", source), ("target", target)):
            if not value:
                raise BadRequest(f"Invalid request: missing {name} parameter")
        texts = q if isinstance(q, list) else [q]
        if not all(isinstance(text, str) for text in texts):
            raise BadRequest("Invalid request: q must be a string or a list of strings")
        if source != "auto" and source not in self.languages:
            raise BadRequest(f"{source} is not supported")
        if target not in self.languages:
            raise BadRequest(f"{target} is not supported")
        if text_format not in ("text", "html"):
            raise BadRequest(f"{text_format} format is not supported")
        assert isinstance(target, str)
        translated = [self.translate(str(text), target) for text in texts]
        answer: dict[str, object] = {
            "translatedText": translated if isinstance(q, list) else translated[0]
        }
        if source == "auto":
            detected = [{"confidence": 90.0, "language": self.detect(str(t))} for t in texts]
            answer["detectedLanguage"] = detected if isinstance(q, list) else detected[0]
        return answer

    async def _handle_languages(self, request: web.Request) -> web.Response:
        return _json(
            [
                {
                    "code": code,
                    "name": NAMES.get(code, code),
                    "targets": sorted(set(self.languages) - {code}),
                }
                for code in self.languages
            ]
        )

    async def _handle_stats(self, request: web.Request) -> web.Response:
        return _json(self.stats())

    def stats(self) -> dict[str, object]:
        """Counters and the call log, as JSON-ready data (what `GET /_sandbox/stats` answers)."""
        pairs = [{"source": s, "target": t, "count": n} for (s, t), n in sorted(self.pairs.items())]
        return {
            "calls": self.calls,
            "pairs": pairs,
            "log": [list(entry) for entry in self.log],
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
        }

    async def _handle_control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        toggles = {"hang": self.hang, "forbid": self.forbid, "mangle": self.mangle}
        try:
            body = await _json_object(request)
            if action == "fail":
                self.fail(None if body.get("n") is None else int(body["n"]))
            elif action in toggles:
                toggles[action](bool(body.get("on", True)))
            elif action == "slow":
                self.slow(float(body["seconds"]))
            elif action == "rate_limit":
                self.rate_limit(int(body["n"]))
            elif action == "phrases":
                self.add_phrases(_phrase_table(body))
            elif action == "reset":
                self.reset()
            else:
                return _error(404, f"no control named {action!r}")
        except (KeyError, TypeError, ValueError) as exc:
            return _error(400, f"bad body for {action!r}: {exc!r}")
        return _json(self.stats())


async def _json_object(request: web.Request) -> dict[str, Any]:
    body = await request.json() if request.can_read_body else {}
    if not isinstance(body, dict):
        raise TypeError("the body must be a JSON object")
    return body


def _phrase_table(body: dict[str, Any]) -> dict[str, dict[str, str]]:
    for source, versions in body.items():
        if not isinstance(versions, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in versions.items()
        ):
            raise TypeError(f"{source!r} must map to {{language: text}}")
    return body


async def _read_params(request: web.Request) -> dict[str, object]:
    """The request's parameters, from a JSON body or a form (LibreTranslate takes both)."""
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise BadRequest("Invalid JSON format") from None
        if not isinstance(body, dict):
            raise BadRequest("Invalid JSON format")
        return body
    form = await request.post()
    params: dict[str, object] = {}
    for values in (request.query, form):
        params.update({k: v for k, v in values.items() if isinstance(v, str) and k not in params})
    if isinstance(q := params.get("q"), str):
        params["q"] = "\n".join(q.splitlines())  # as LibreTranslate normalizes form text
    return params
