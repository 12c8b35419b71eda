"""MicrosoftStandIn: Microsoft Translator v3 `POST /translate?api-version=3.0`, as
documented, on this machine.

The key is taken from `Ocp-Apim-Subscription-Key` only (a `Subscription-Key` query
parameter is refused here), and when the stand-in has a region, `Ocp-Apim-Subscription-Region`
must name it (401000 otherwise, as a regional resource answers). Errors are Microsoft's
six-digit codes: 401000, 403000, 403001, 429000, 400035/400036 (a language it does not
offer). `token_requests` counts calls to the token endpoint, which a client using the key
header never needs.
"""

from __future__ import annotations

from aiohttp import web

from sandbox.translators.base import StandIn

LANGUAGES = set(
    "ar bg ca cs da de el en es et fi fr hu id it ja ko nb nl pl pt ro ru sv tr uk".split()
)
LANGUAGES |= {"zh-Hans", "sr-Cyrl"}
MESSAGES = {
    400000: "One of the request inputs is not valid.",
    401000: "The request is not authorized because credentials are missing or invalid.",
    403000: "The operation is not allowed.",
    403001: "The operation is not allowed because the subscription has exceeded its free quota.",
    429000: "The server rejected the request because the client has exceeded request limits.",
    400035: "The source language (From field) is not valid.",
    400036: "The target language (To field) is not valid.",
    400021: "The API version parameter is missing or invalid.",
    500000: "An unexpected error occurred.",
}


def _error(code: int) -> web.Response:
    message = MESSAGES.get(code, "Error")
    return web.json_response({"error": {"code": code, "message": message}}, status=code // 1000)


class MicrosoftStandIn(StandIn):
    name = "microsoft"

    def __init__(
        self,
        api_key: str = "sandbox-key",
        region: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(api_key, host, port)
        self.region = region

    def reset(self) -> None:
        super().reset()
        self.token_requests = 0

    def fail(self, status: int, n: int | None = 1) -> None:
        """`status` as Microsoft's six-digit code (403001) or a plain HTTP status."""
        super().fail(status if status >= 1000 else status * 1000, n)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/translate", self._translate)
        app.router.add_post("/sts/v1.0/issueToken", self._token)

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        return web.Response(text="sandbox-token")

    async def _translate(self, request: web.Request) -> web.StreamResponse:
        in_header = request.headers.get("Ocp-Apim-Subscription-Key") == self.api_key
        elsewhere = "Subscription-Key" in request.query
        self.count(request, in_header, elsewhere)
        region_ok = (
            self.region is None
            or request.headers.get("Ocp-Apim-Subscription-Region") == self.region
        )
        if elsewhere or not in_header or not region_ok:
            return _error(401000)
        if request.query.get("api-version") != "3.0":
            return _error(400021)
        if (code := self.next_failure()) is not None:
            return _error(code)
        if (html := self.html_lie()) is not None:
            return html
        source, target = request.query.get("from"), request.query.get("to", "")
        if source is not None and source not in LANGUAGES:
            return _error(400035)
        if target not in LANGUAGES:
            return _error(400036)
        body = await request.json()
        if not isinstance(body, list) or not all(
            isinstance(item, dict) and isinstance(item.get("Text"), str) for item in body
        ):
            return _error(400000)
        base = {"zh-Hans": "zh", "sr-Cyrl": "sr"}
        texts = [item["Text"] for item in body]
        out = self.translate_all(
            texts, base.get(source or "es", source or "es"), base.get(target, target)
        )
        return web.json_response([{"translations": [{"text": t, "to": target}]} for t in out])
