"""Translation providers.

- LibreTranslate (the default, self-hosted: the text stays with the operator) is called over
  HTTP with httpx: POST /translate with a JSON body (text and key in the body, never in the
  URL), real timeouts.
- Third parties (google, deepl, microsoft, mymemory) go through deep-translator, which blocks,
  sets no timeouts and puts texts in URLs. Each gets a small thread pool of its own (a
  bulkhead) and a deadline on the await, so a hung call stalls only its own provider.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import httpx

log = logging.getLogger(__name__)


class ProviderError(Exception):
    """The provider failed this call (down, refused, timed out, malformed answer)."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


class Unsupported(ProviderError):
    """The provider does not offer this language pair: try the next, but the provider is fine."""


class Provider(Protocol):
    name: str

    async def translate(self, text: str, source: str, target: str) -> str: ...

    async def close(self) -> None: ...


class LibreTranslate:
    name = "libretranslate"

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
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise ProviderError(f"libretranslate /languages failed: {_why(exc)}") from None
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
            raise ProviderError(f"libretranslate: {_why(exc)}", timeout=True) from None
        except httpx.HTTPError as exc:
            raise ProviderError(f"libretranslate: {_why(exc)}") from None
        if answer.status_code != 200:
            raise ProviderError(f"libretranslate answered {answer.status_code}")
        try:
            return str(answer.json()["translatedText"])
        except (ValueError, KeyError, TypeError):
            raise ProviderError("libretranslate answered without translatedText") from None

    async def close(self) -> None:
        await self._client.aclose()


def _why(exc: Exception) -> str:
    # never str(exc) of an httpx error: it can quote the request (URL, body)
    return type(exc).__name__


class DeepTranslatorProvider:
    """A deep-translator engine behind a bulkhead: its own threads and a deadline."""

    def __init__(
        self,
        name: str,
        make: Callable[[str, str], Any],
        codes: Callable[[str], str | None],
        *,
        timeout_s: float = 8.0,
        threads: int = 4,
    ) -> None:
        self.name = name
        self._make = make  # (source, target) -> a deep-translator translator
        self._codes = codes
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=f"tr-{name}")

    async def translate(self, text: str, source: str, target: str) -> str:
        src, tgt = self._codes(source), self._codes(target)
        if src is None or tgt is None:
            raise Unsupported(f"{self.name} offers no {source}->{target}")
        loop = asyncio.get_running_loop()
        call = loop.run_in_executor(self._pool, self._call, text, src, tgt)
        try:
            return await asyncio.wait_for(call, self.timeout_s)
        except TimeoutError:
            # the thread runs on until the library gives up; only this provider's pool waits
            raise ProviderError(
                f"{self.name} timed out after {self.timeout_s} s", timeout=True
            ) from None

    def _call(self, text: str, source: str, target: str) -> str:
        try:
            result = self._make(source, target).translate(text)
        except Exception as exc:
            raise ProviderError(f"{self.name}: {type(exc).__name__}") from None
        if not isinstance(result, str):
            raise ProviderError(f"{self.name} gave no text")
        return result

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# ---- ISO 639-1 -> each provider's codes ---------------------------------------------------


def _google(code: str) -> str | None:
    from deep_translator.constants import GOOGLE_LANGUAGES_TO_CODES

    special = {"he": "iw", "zh": "zh-CN", "jv": "jw"}
    mapped = special.get(code, code)
    return mapped if mapped in GOOGLE_LANGUAGES_TO_CODES.values() else None


def _deepl(code: str) -> str | None:
    from deep_translator.constants import DEEPL_LANGUAGE_TO_CODE

    return code if code in DEEPL_LANGUAGE_TO_CODE.values() else None


def _microsoft(code: str) -> str | None:
    special = {"zh": "zh-Hans", "no": "nb", "sr": "sr-Cyrl"}
    return special.get(code, code)


def _mymemory(code: str) -> str | None:
    from deep_translator.constants import MY_MEMORY_LANGUAGES_TO_CODES

    regional = [c for c in MY_MEMORY_LANGUAGES_TO_CODES.values() if c.split("-")[0] == code]
    preferred = f"{code}-{code.upper()}"
    if preferred in regional:
        return preferred
    return regional[0] if regional else None


def third_party(
    name: str, *, api_key: str | None, region: str | None, timeout_s: float
) -> DeepTranslatorProvider:
    """One of google, deepl, microsoft, mymemory (opt-in; they see every text they get)."""
    import deep_translator as dt

    makers: dict[str, tuple[Callable[[str, str], Any], Callable[[str], str | None]]] = {
        "google": (lambda s, t: dt.GoogleTranslator(source=s, target=t), _google),
        "deepl": (
            lambda s, t: dt.DeeplTranslator(api_key=api_key, source=s, target=t, use_free_api=True),
            _deepl,
        ),
        "microsoft": (
            lambda s, t: dt.MicrosoftTranslator(api_key=api_key, region=region, source=s, target=t),
            _microsoft,
        ),
        "mymemory": (lambda s, t: dt.MyMemoryTranslator(source=s, target=t), _mymemory),
    }
    make, codes = makers[name]
    return DeepTranslatorProvider(name, make, codes, timeout_s=timeout_s)
