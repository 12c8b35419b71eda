"""GoogleStandIn: Google Cloud Translation Basic (v2), `POST /language/translate/v2`, as
documented, on this machine.

The key is taken from the `X-Goog-Api-Key` header only (a `key` in the query string, which
Google itself accepts, is refused here so that a client putting it in URLs is caught). A wrong
key answers 400 `API_KEY_INVALID` as Google does; quota answers 403 `dailyLimitExceeded`, rate
429 `rateLimitExceeded`. `q` may be one string or several (JSON list or repeated form field).
Codes are Google's (`zh-CN`, `iw`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.translators.base import StandIn

LANGUAGES = set(
    "ar bg ca cs da de el en es et fi fr hu id it ja ko nl pl pt ro ru sv tr uk".split()
)
LANGUAGES |= {"zh-CN", "iw"}
REASONS = {
    400: ("badRequest", "Bad request"), 401: ("unauthorized", "Login Required"),
    403: ("dailyLimitExceeded", "Daily Limit Exceeded"),
    429: ("rateLimitExceeded", "Rate Limit Exceeded"), 500: ("backendError", "Backend Error"),
}  # fmt: skip


def _error(status: int, reason: str | None = None, message: str | None = None) -> web.Response:
    default_reason, default_message = REASONS.get(status, ("error", "Error"))
    error: dict[str, Any] = {
        "code": status,
        "message": message or default_message,
        "errors": [{"message": message or default_message, "domain": "global",
                    "reason": reason or default_reason}],
    }  # fmt: skip
    if reason == "API_KEY_INVALID":
        error["errors"][0]["reason"] = "badRequest"
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                             "reason": "API_KEY_INVALID"}]  # fmt: skip
    return web.json_response({"error": error}, status=status)


class GoogleStandIn(StandIn):
    name = "google"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/language/translate/v2", self._translate)

    async def _translate(self, request: web.Request) -> web.StreamResponse:
        params = await _params(request)
        in_header = request.headers.get("X-Goog-Api-Key") == self.api_key
        elsewhere = "key" in request.query or "key" in params
        self.count(request, in_header, elsewhere)
        if elsewhere:
            return _error(403, "forbidden", "the sandbox takes the key in X-Goog-Api-Key only")
        if not in_header:
            return _error(400, "API_KEY_INVALID", "API key not valid. Please pass a valid API key.")
        if (status := self.next_failure()) is not None:
            return _error(status)
        if (html := self.html_lie()) is not None:
            return html
        q, source, target = params.get("q"), params.get("source"), params.get("target")
        if not q or not all(isinstance(t, str) for t in q):
            return _error(400, "required", "Required Text")
        if target not in LANGUAGES or (source is not None and source not in LANGUAGES):
            return _error(400, "invalid", "Invalid Value")
        if params.get("format", "html") not in ("text", "html"):
            return _error(400, "invalid", "Invalid Value")
        base = {"zh-CN": "zh", "iw": "he"}
        src = str(source or "es")
        out = self.translate_all(q, base.get(src, src), base.get(str(target), str(target)))
        return web.json_response({"data": {"translations": [{"translatedText": t} for t in out]}})


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        body = await request.json()
        params: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
        if isinstance(params.get("q"), str):
            params["q"] = [params["q"]]
        return params
    form = await request.post()
    params = {k: v for k, v in form.items() if k != "q" and isinstance(v, str)}
    params["q"] = [v for v in form.getall("q", []) if isinstance(v, str)]
    return params
