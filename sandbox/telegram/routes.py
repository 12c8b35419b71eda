"""The HTTP face of the Bot API: /bot<token>/<method> and /file/bot<token>/<file_path>.

Each call: the token (401 if unknown, 404 if it is not token-shaped), the method (404 if
unknown), its parameters, then any fault on demand (decided before acting), then the method.
Answers are Telegram's envelopes. Only method names are ever logged, never URLs: they hold
tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

from aiohttp import web

from sandbox.telegram import chats, files, media, places, polls, sending, updates
from sandbox.telegram.api import ASYNC_METHODS, METHODS, Api
from sandbox.telegram.entities import JSON
from sandbox.telegram.faults import STATUS_TEXT, Faults
from sandbox.telegram.model import BotState
from sandbox.telegram.params import read_params
from sandbox.telegram.world import ApiError

log = logging.getLogger("sandbox.telegram")

_TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# importing them registers their methods
_IMPLEMENTED = (chats, media, places, polls, sending, updates)

FORM_OVERHEAD = 2 * 1024 * 1024  # a request may be this much larger than its largest upload


def answer(result: object) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def refuse(code: int, description: str, parameters: JSON | None = None) -> web.Response:
    return web.json_response(ApiError(code, description, parameters).body(), status=code)


class BotApiRoutes:
    """aiohttp handlers for bot calls and file downloads."""

    def __init__(self, api: Api, faults: Faults, closing: asyncio.Event) -> None:
        self.api = api
        self.faults = faults
        self.closing = closing

    def add_to(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self.call)
        app.router.add_get("/file/bot{token}/{path:.+}", self.download)

    def _bot(self, token: str) -> BotState | web.Response:
        state = self.api.world.bots.get(token)
        if state is not None:
            return state
        if _TOKEN_SHAPE.match(token):
            return refuse(401, "Unauthorized")
        return refuse(404, "Not Found")

    async def call(self, request: web.Request) -> web.Response:
        state = self._bot(request.match_info["token"])
        if isinstance(state, web.Response):
            return state
        name = request.match_info["method"].lower()
        if name not in METHODS and name not in ASYNC_METHODS:
            return refuse(404, "Not Found")
        log.debug("bot %s calls %s", state.account.id, name)
        try:
            params = await read_params(request, self.api.world.file_limits.upload)
            fault = self.faults.draw(name)
            if fault is not None:
                return await self._fault(fault.status, fault.hold, state, params.raw("chat_id"))
            if name in ASYNC_METHODS:
                result = await ASYNC_METHODS[name](self.api, state, params)
            else:
                result = METHODS[name](self.api, state, params)
        except ApiError as exc:
            if exc.code != 400:
                log.debug("%s answered %s", name, exc.code)
            return web.json_response(exc.body(), status=exc.code)
        except Exception:  # a sandbox bug: answer as Telegram would, log without the URL
            log.exception("%s failed inside the sandbox", name)
            return refuse(500, "Internal Server Error")
        return answer(result)

    async def _fault(self, status: int, hold: float, state: BotState, chat: object) -> web.Response:
        if hold > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), hold)
        if status == 429:
            chat_id = int(str(chat)) if str(chat).lstrip("-").isdigit() else 0
            self.api.limiter.too_many[(state.account.id, chat_id)] += 1
            return refuse(429, STATUS_TEXT[429], {"retry_after": 1})
        return refuse(status, STATUS_TEXT[status])

    async def download(self, request: web.Request) -> web.StreamResponse:
        state = self._bot(request.match_info["token"])
        if isinstance(state, web.Response):
            return state
        stored = files.by_path(self.api.world, request.match_info["path"])
        if stored is None:
            return refuse(404, "Not Found")
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )
