"""DeepLStandIn: DeepL's API v2 `POST /v2/translate`, as documented, on this machine.

The free and Pro hosts are two path prefixes of one server (`free_url`, `pro_url`), so a test
sees which one a client chose (`paths`); a free key (`...:fx`) on the Pro host, or a Pro key
on the free host, is refused with 403 as DeepL does. The key is taken from
`Authorization: DeepL-Auth-Key <key>` only: an `auth_key` in the query string or the body is
refused with 403 (DeepL stopped accepting them in January 2026). Several `text` fields
(form or JSON) come back in order. Targets are DeepL's codes: plain `EN` or `PT` is refused
(a variant is needed here), and `formality` for a target that has none answers 400.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.translators.base import StandIn

SOURCES = set(
    "AR BG CS DA DE EL EN ES ET FI FR HU ID IT JA KO LT LV NB NL PL PT RO RU SK SL SV TR UK ZH"
    .split()
)  # fmt: skip
TARGETS = (SOURCES - {"EN", "PT", "ZH"}) | {"EN-GB", "EN-US", "PT-BR", "PT-PT", "ZH-HANS"}
FORMALITY = {"DE", "FR", "IT", "ES", "NL", "PL", "PT-BR", "PT-PT", "JA", "RU"}
ERRORS = {
    400: "Bad request", 403: "Authorization failure, check auth_key", 413: "Request too large",
    429: "Too many requests", 456: "Quota exceeded", 500: "Internal error",
}  # fmt: skip


def _message(status: int, text: str | None = None) -> web.Response:
    return web.json_response({"message": text or ERRORS.get(status, "Error")}, status=status)


class DeepLStandIn(StandIn):
    name = "deepl"

    @property
    def free_url(self) -> str:
        return f"{self.url}/free"

    @property
    def pro_url(self) -> str:
        return f"{self.url}/pro"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/{plan:free|pro}/v2/translate", self._translate)
        app.router.add_post("/v2/translate", self._translate)  # one host for both (a proxy)

    def reset(self) -> None:
        super().reset()
        self.formality: list[str | None] = []  # as sent, per call

    async def _translate(self, request: web.Request) -> web.StreamResponse:
        params = await _params(request)
        header = request.headers.get("Authorization", "")
        in_header = header == f"DeepL-Auth-Key {self.api_key}"
        elsewhere = "auth_key" in request.query or "auth_key" in params
        self.count(request, in_header, elsewhere)
        if elsewhere:
            return _message(403, "auth_key in the query or body is no longer accepted; "
                            "use the Authorization header")  # fmt: skip
        if not in_header:
            return _message(403)
        plan = request.match_info.get("plan")
        if plan is not None and (plan == "free") != self.api_key.endswith(":fx"):
            right = "api-free.deepl.com" if plan == "pro" else "api.deepl.com"
            return _message(403, f"Wrong endpoint. Use https://{right}")
        if (status := self.next_failure()) is not None:
            return _message(status)
        if (html := self.html_lie()) is not None:
            return html
        texts, source, target = (
            params.get("text"),
            params.get("source_lang"),
            params.get("target_lang"),
        )
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return _message(400, "Parameter 'text' not specified")
        if not isinstance(target, str) or target.upper() not in TARGETS:
            return _message(400, f"Value for 'target_lang' not supported: {target}")
        if source is not None and (not isinstance(source, str) or source.upper() not in SOURCES):
            return _message(400, f"Value for 'source_lang' not supported: {source}")
        formality = params.get("formality")
        self.formality.append(formality if isinstance(formality, str) else None)
        if formality not in (None, "default", "prefer_less", "prefer_more") and (
            target.upper() not in FORMALITY
        ):
            return _message(400, "'formality' is not supported for given 'target_lang'")
        src = (source or "ES").upper()
        out = self.translate_all(texts, src.lower(), target.split("-")[0].lower())
        return web.json_response(
            {"translations": [{"detected_source_language": src, "text": t} for t in out]}
        )


async def _params(request: web.Request) -> dict[str, Any]:
    """Form fields (repeated `text`) or a JSON body; `text` always as a list."""
    if request.content_type == "application/json":
        body = await request.json()
        params: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
        if isinstance(params.get("text"), str):
            params["text"] = [params["text"]]
        return params
    form = await request.post()
    params = {k: v for k, v in form.items() if k != "text" and isinstance(v, str)}
    params["text"] = [v for v in form.getall("text", []) if isinstance(v, str)]
    return params
