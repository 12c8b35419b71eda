"""LibreTranslate, the default and the recommended provider: self-hosted, so the text stays
with the operator. POST /translate with a JSON body (text and key in the body, never in the
URL), GET /languages for the pairs it offers, real timeouts.

Its answers are not checked for their language (``verify_language = False``): it is the
operator's own server, and for a text it cannot translate it hands back a marked original.
"""

from __future__ import annotations

from typing import Any

import httpx

from translation.providers.base import ProviderError, Unsupported, why


class LibreTranslate:
    name = "libretranslate"
    verify_language = False

    def __init__(self, url: str, api_key: str | None = None, timeout_s: float = 8.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0))
        self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout)
        self._languages: dict[str, set[str]] | None = None

    async def languages(self) -> dict[str, set[str]]:
        """Source code -> the target codes it offers (GET /languages), cached."""
        if self._languages is None:
            try:
                answer = await self._client.get("/languages")
                answer.raise_for_status()
                self._languages = {
                    str(entry["code"]): {str(t) for t in entry.get("targets", [])}
                    for entry in answer.json()
                }
            except httpx.TimeoutException as exc:
                raise ProviderError(
                    f"libretranslate /languages: {why(exc)}", timeout=True
                ) from None
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise ProviderError(f"libretranslate /languages failed: {why(exc)}") from None
        return self._languages

    async def translate(self, text: str, source: str, target: str) -> str:
        offered = await self.languages()
        if source not in offered or (offered[source] and target not in offered[source]):
            raise Unsupported(f"libretranslate offers no {source}->{target}")
        body: dict[str, Any] = {"q": text, "source": source, "target": target, "format": "text"}
        if self.api_key:
            body["api_key"] = self.api_key
        try:
            answer = await self._client.post("/translate", json=body)
        except httpx.TimeoutException as exc:
            raise ProviderError(f"libretranslate: {why(exc)}", timeout=True) from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"libretranslate unreachable: {why(exc)}") from None
        if answer.status_code in (401, 403):
            raise ProviderError("libretranslate refused the api_key", kind="auth")
        if answer.status_code != 200:
            raise ProviderError(f"libretranslate answered {answer.status_code}")
        try:
            return str(answer.json()["translatedText"])
        except (ValueError, KeyError, TypeError):
            raise ProviderError("libretranslate answered without translatedText") from None

    async def close(self) -> None:
        await self._client.aclose()
