"""The JSON control API under /_sandbox/: what tests and demos do as the humans and as the
operator of the sandbox (faults, limits, clock, statistics), one route per `Console` method
(BotApiServer is a Console that also serves; this module never needs the server itself).

Bodies are JSON objects whose keys are the Python method's parameters; answers use the Bot API
envelope ({"ok": true, "result": ...} or {"ok": false, "error_code": N, "description": ...}).
Bytes travel as base64 strings: a post's `photo`, `voice` and `sticker`, its `document` as
[file name, base64, MIME type], and the `data` of GET /_sandbox/files/{file_id}.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from sandbox.telegram.console import Console
from sandbox.telegram.world import ApiError

Action = Callable[[dict[str, Any], dict[str, Any]], object]


def _answer(result: object) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _unpacked(body: dict[str, Any]) -> dict[str, Any]:
    """A post's body with its base64 media turned into bytes."""
    result = dict(body)
    for key in ("photo", "voice", "sticker"):
        if result.get(key) is not None:
            result[key] = base64.b64decode(result[key], validate=True)
    if result.get("document") is not None:
        name, data, mime = result["document"]
        result["document"] = (name, base64.b64decode(data, validate=True), mime)
    return result


def _packed(file_id: str, data: bytes) -> dict[str, str]:
    return {"file_id": file_id, "data": base64.b64encode(data).decode("ascii")}


def _error(code: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": code, "description": description}, status=code
    )


class ControlRoutes:
    """Routes /_sandbox/... onto a Console (in practice the BotApiServer that serves them)."""

    def __init__(self, server: Console) -> None:
        self.server = server

    def add_to(self, app: web.Application) -> None:
        s = self.server
        routes: list[tuple[str, str, Action]] = [
            ("POST", "/_sandbox/bots", lambda b, m: s.add_bot(**b)),
            ("POST", "/_sandbox/users", lambda b, m: s.add_user(**b)),
            ("POST", "/_sandbox/chats", lambda b, m: s.create_chat(**b)),
            ("POST", "/_sandbox/chats/{chat_id}/members", lambda b, m: s.add_member(**m, **b)),
            (
                "POST",
                "/_sandbox/chats/{chat_id}/members/{member_id}/remove",
                lambda b, m: s.remove_member(**m, **b),
            ),
            (
                "POST",
                "/_sandbox/chats/{chat_id}/messages",
                lambda b, m: s.post(**m, **_unpacked(b)),
            ),
            ("GET", "/_sandbox/chats/{chat_id}/messages", lambda b, m: s.messages(**m, **b)),
            (
                "POST",
                "/_sandbox/chats/{chat_id}/messages/{message_id}/edit",
                lambda b, m: s.edit(**m, **b),
            ),
            (
                "POST",
                "/_sandbox/chats/{chat_id}/messages/{message_id}/delete",
                lambda b, m: s.delete(**m, **b),
            ),
            (
                "POST",
                "/_sandbox/chats/{chat_id}/messages/{message_id}/react",
                lambda b, m: s.react(**m, **b),
            ),
            ("POST", "/_sandbox/chats/{chat_id}/topics", lambda b, m: s.create_topic(**m, **b)),
            ("POST", "/_sandbox/chats/{chat_id}/migrate", lambda b, m: s.migrate(**m, **b)),
            ("POST", "/_sandbox/faults/inject", lambda b, m: s.inject(**b)),
            ("POST", "/_sandbox/faults", lambda b, m: s.faults(**b)),
            ("POST", "/_sandbox/faults/clear", lambda b, m: s.clear_faults()),
            ("POST", "/_sandbox/clock", lambda b, m: s.move_clock(**b)),
            ("POST", "/_sandbox/limits", lambda b, m: s.set_limits(**b)),
            ("GET", "/_sandbox/stats", lambda b, m: s.stats()),
            (
                "GET",
                "/_sandbox/files/{file_id}",
                lambda b, m: _packed(m["file_id"], s.file_bytes(m["file_id"])),
            ),
        ]
        for verb, path, action in routes:
            app.router.add_route(verb, path, self._handler(action))

    @staticmethod
    def _handler(action: Action) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.Response:
            try:
                match: dict[str, Any] = {
                    k: v if k == "file_id" else int(v) for k, v in request.match_info.items()
                }
                body: dict[str, Any] = {}
                if request.method == "GET":
                    body = {k: json.loads(v) for k, v in request.query.items()}
                elif request.can_read_body:
                    body = await request.json()
                if not isinstance(body, dict):
                    return _error(400, "Bad Request: the body must be a JSON object")
                return _answer(action(body, match))
            except ApiError as exc:
                return web.json_response(exc.body(), status=exc.code)
            except (TypeError, ValueError, KeyError) as exc:  # bad base64 too
                return _error(400, f"Bad Request: {exc}")

        return handle
