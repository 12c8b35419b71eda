"""The keyless providers, through deep-translator: ``mymemory`` and ``google_web`` (an
unofficial scrape of Google's public web page, not an API: no contract, no key, and Google
sees every text; it may break or be blocked at any time).

deep-translator blocks, sets no timeouts and puts texts in URLs. Each provider gets a small
thread pool of its own (a bulkhead) and a deadline on the await, so a hung call stalls only
its own provider. Providers with keys are never called through it (translation.providers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from translation.providers.base import ProviderError, Unsupported, segments
from translation.providers.codes import google_code, mymemory_code


class DeepTranslatorProvider:
    """A deep-translator engine behind a bulkhead: its own threads and a deadline."""

    verify_language = True

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
        return segments(self.name, [text], [result])[0]

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def keyless(name: str, *, timeout_s: float) -> DeepTranslatorProvider:
    """``mymemory`` or ``google_web`` (opt-in; they see every text they get)."""
    import deep_translator as dt

    makers: dict[str, tuple[Callable[[str, str], Any], Callable[[str], str | None]]] = {
        "google_web": (lambda s, t: dt.GoogleTranslator(source=s, target=t), google_code),
        "mymemory": (lambda s, t: dt.MyMemoryTranslator(source=s, target=t), mymemory_code),
    }
    make, codes = makers[name]
    return DeepTranslatorProvider(name, make, codes, timeout_s=timeout_s)
