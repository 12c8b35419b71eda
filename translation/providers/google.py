"""Google Cloud Translation, Basic (v2), with an API key
(https://cloud.google.com/translate/docs/reference/rest/v2/translate).

``POST https://translation.googleapis.com/language/translate/v2`` with a JSON body
(``q`` as a list: several texts in one call; ``format: text``, so nothing comes back as HTML
entities) and the key in the ``X-Goog-Api-Key`` header, never in the URL.

Errors come as ``{"error": {"code", "message", "errors": [{"reason"}]}}``: a 403 whose reason
names a quota or rate limit is quota, any other 401/403 (and a 400 ``API_KEY_INVALID``) is auth,
429 is retried then quota.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from translation.providers.base import (
    HttpProvider,
    ProviderError,
    Sleep,
    Unsupported,
    asyncio_sleep,
    json_body,
    segments,
)
from translation.providers.codes import google_code

URL = "https://translation.googleapis.com"
KEY_INVALID = frozenset({"keyInvalid", "API_KEY_INVALID"})
QUOTA_REASONS = frozenset(
    {"dailyLimitExceeded", "quotaExceeded", "rateLimitExceeded", "userRateLimitExceeded",
     "dailyLimitExceededUnreg", "userRateLimitExceededUnreg", "RATE_LIMIT_EXCEEDED"}
)  # fmt: skip


def _reasons(answer: httpx.Response) -> set[str]:
    try:
        error = answer.json()["error"]
        found = {str(e.get("reason", "")) for e in error.get("errors", [])}
        found |= {str(d.get("reason", "")) for d in error.get("details", [])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return set()
    return found


class GoogleCloud(HttpProvider):
    name = "google"

    def __init__(
        self, api_key: str, *, timeout_s: float = 8.0, url: str | None = None,
        sleep: Sleep = asyncio_sleep,
    ) -> None:  # fmt: skip
        super().__init__(url or URL, {"X-Goog-Api-Key": api_key}, timeout_s, sleep=sleep)

    async def translate_many(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        src, tgt = google_code(source), google_code(target)
        if src is None or tgt is None:
            raise Unsupported(f"google offers no {source}->{target}")
        body = {"q": list(texts), "source": src, "target": tgt, "format": "text"}
        answer = await self.post("/language/translate/v2", json=body)
        status = answer.status_code
        if status == 429 or (status == 403 and _reasons(answer) & QUOTA_REASONS):
            raise ProviderError(f"google: quota or rate limit ({status})", kind="quota")
        if status in (401, 403) or (status == 400 and _reasons(answer) & KEY_INVALID):
            raise ProviderError(f"google refused the key ({status})", kind="auth")
        if status != 200:
            raise ProviderError(f"google answered {status}")
        data = json_body(self.name, answer)
        try:
            got = [t["translatedText"] for t in data["data"]["translations"]]
        except (KeyError, TypeError):
            raise ProviderError("google answered without translations", kind="bad_answer") from None
        return segments(self.name, texts, got)
