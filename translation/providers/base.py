"""What every provider shares: the Provider protocol, the errors the chain acts on, and the
HTTP plumbing of the providers called on their documented APIs.

Errors are values the chain acts on, by ``kind``:

- ``error``: down, 5xx, refused connection: the breaker counts it (a timeout opens it at once);
- ``bad_answer``: a 200 that is not a translation (HTML, an empty string, another number of
  segments than asked): counted as a failure like ``error``;
- ``quota`` (DeepL 456, Google 403 with a quota reason, Microsoft 403000/403001, a 429 still
  there after the retries) and ``auth`` (401, 403): the chain skips the provider until the
  next hour and tells the operator once (``translation.suspend``).

An httpx error is never turned into text with ``str()``: it can quote the request. Keys travel
in headers only (set once on the client), so no URL, log line or error message holds one.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

import httpx

Kind = Literal["error", "bad_answer", "quota", "auth"]
Sleep = Callable[[float], Awaitable[None]]

RETRIES_429 = 2  # a 429 is retried this many times (Retry-After honoured, capped) before quota
MAX_RETRY_WAIT_S = 2.0
asyncio_sleep: Sleep = asyncio.sleep  # the default; tests inject one that does not wait


class ProviderError(Exception):
    """The provider failed this call (down, refused, timed out, malformed answer)."""

    def __init__(self, message: str, *, timeout: bool = False, kind: Kind = "error") -> None:
        super().__init__(message)
        self.timeout = timeout
        self.kind: Kind = kind


class Unsupported(ProviderError):
    """The provider does not offer this language pair: try the next, but the provider is fine."""


class Provider(Protocol):
    name: str
    # the chain checks that the answer is in the target language (translation.translator)
    verify_language: bool

    async def translate(self, text: str, source: str, target: str) -> str: ...

    async def close(self) -> None: ...


def why(exc: Exception) -> str:
    # never str(exc) of an httpx error: it can quote the request (URL, body)
    return type(exc).__name__


_HTML = re.compile(r"<\s*(?:!doctype|html|head|body)\b", re.IGNORECASE)


def segments(name: str, asked: Sequence[str], got: object) -> list[str]:
    """``got`` as one translated string per asked text, or ProviderError(bad_answer): a
    provider that answers HTML, an empty string for a text, or another number of segments
    has not translated, whatever its status code said."""
    if not isinstance(got, list) or not all(isinstance(s, str) for s in got):
        raise ProviderError(f"{name} answered without translations", kind="bad_answer")
    if len(got) != len(asked):
        raise ProviderError(
            f"{name} answered {len(got)} segments for {len(asked)}", kind="bad_answer"
        )
    for text, out in zip(asked, got, strict=True):
        if text.strip() and not out.strip():
            raise ProviderError(f"{name} answered an empty text", kind="bad_answer")
        if _HTML.search(out) and not _HTML.search(text):
            raise ProviderError(f"{name} answered an HTML page", kind="bad_answer")
    return list(got)


def json_body(name: str, answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        raise ProviderError(
            f"{name} answered {answer.status_code}, not JSON", kind="bad_answer"
        ) from None


def _retry_after(answer: httpx.Response, attempt: int) -> float:
    value = answer.headers.get("Retry-After", "")
    wait: float | None = None
    if value.strip().isdigit():
        wait = float(value)
    elif value:
        when = email.utils.parsedate_to_datetime(value) if "," in value else None
        wait = when.timestamp() - time.time() if when is not None else None
    if wait is None:
        wait = 0.25 * 2**attempt
    return min(max(wait, 0.0), MAX_RETRY_WAIT_S)


class HttpProvider:
    """One httpx client per provider, reused for every call: real timeouts (connect at most
    3 s), the key in a default header, 429 retried a little before it counts as quota."""

    name = "http"
    verify_language = True

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        timeout_s: float,
        *,
        sleep: Sleep = asyncio_sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0))
        self._client = httpx.AsyncClient(
            base_url=self.base_url, headers=dict(headers), timeout=timeout
        )
        self._sleep = sleep  # tests inject one that does not wait

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST, with 429 retried ``RETRIES_429`` times; transport errors as ProviderError."""
        for attempt in range(RETRIES_429 + 1):
            try:
                answer = await self._client.post(path, **kwargs)
            except httpx.TimeoutException as exc:
                raise ProviderError(f"{self.name}: {why(exc)}", timeout=True) from None
            except httpx.HTTPError as exc:
                raise ProviderError(f"{self.name} unreachable: {why(exc)}") from None
            if answer.status_code != 429 or attempt == RETRIES_429:
                return answer
            await self._sleep(_retry_after(answer, attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def translate_many(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        raise NotImplementedError

    async def translate(self, text: str, source: str, target: str) -> str:
        return (await self.translate_many([text], source, target))[0]

    async def close(self) -> None:
        await self._client.aclose()
