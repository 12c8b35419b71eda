"""Microsoft Translator v3 (https://learn.microsoft.com/azure/ai-services/translator/
text-translation/reference/v3/translate).

``POST /translate?api-version=3.0&from=..&to=..`` with ``[{"Text": ...}, ...]`` (several texts
in one call), the key in ``Ocp-Apim-Subscription-Key`` and the resource's region in
``Ocp-Apim-Subscription-Region`` (required by regional and multi-service resources). One
client is reused for every call: no per-call translator, no token request.

Errors come as ``{"error": {"code": 401000, "message": ...}}``: 401xxx is auth, 403000 and
403001 (free tier spent) and 429xxx (after retries) are quota, 400035/400036 name a language
it does not offer.
"""

from __future__ import annotations

from collections.abc import Sequence

from translation.providers.base import (
    HttpProvider,
    ProviderError,
    Sleep,
    Unsupported,
    asyncio_sleep,
    json_body,
    segments,
)
from translation.providers.codes import microsoft_code

URL = "https://api.cognitive.microsofttranslator.com"
UNSUPPORTED = {400035, 400036}  # the source, the target language is not valid


def _code(answer: object) -> int:
    error = answer.get("error") if isinstance(answer, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) else 0


class Microsoft(HttpProvider):
    name = "microsoft"

    def __init__(
        self, api_key: str, *, region: str | None = None, timeout_s: float = 8.0,
        url: str | None = None, sleep: Sleep = asyncio_sleep,
    ) -> None:  # fmt: skip
        headers = {"Ocp-Apim-Subscription-Key": api_key}
        if region:
            headers["Ocp-Apim-Subscription-Region"] = region
        super().__init__(url or URL, headers, timeout_s, sleep=sleep)

    async def translate_many(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        src, tgt = microsoft_code(source), microsoft_code(target)
        params = {"api-version": "3.0", "from": src, "to": tgt, "textType": "plain"}
        answer = await self.post("/translate", params=params, json=[{"Text": t} for t in texts])
        status = answer.status_code
        if status != 200:
            try:
                code = _code(answer.json())
            except ValueError:
                code = 0
            if code in UNSUPPORTED:
                raise Unsupported(f"microsoft offers no {source}->{target}")
            if status == 429 or code in (403000, 403001) or code // 1000 == 429:
                raise ProviderError(f"microsoft: quota or rate limit ({code or status})",
                                    kind="quota")  # fmt: skip
            if status in (401, 403):
                raise ProviderError(f"microsoft refused the key ({code or status})", kind="auth")
            raise ProviderError(f"microsoft answered {status}")
        body = json_body(self.name, answer)
        try:
            got = [item["translations"][0]["text"] for item in body]
        except (KeyError, IndexError, TypeError):
            raise ProviderError("microsoft answered without translations",
                                kind="bad_answer") from None  # fmt: skip
        return segments(self.name, texts, got)
