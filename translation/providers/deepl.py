"""DeepL on its documented API v2 (https://developers.deepl.com/docs/api-reference/translate).

- The key goes in the ``Authorization: DeepL-Auth-Key <key>`` header, never in the URL (DeepL
  refuses query-string keys since January 2026).
- The host is chosen by the key, as DeepL documents: a key ending in ``:fx`` is a free key
  and goes to api-free.deepl.com, any other to api.deepl.com (a free key on the Pro host, or
  the reverse, is refused with 403).
- Target codes are DeepL's: ``en`` is sent as ``EN-GB`` and ``pt`` as ``PT-BR`` (DeepL wants
  a variant and rooms name a language only; the choice is documented in docs/translation.md),
  ``zh`` as ``ZH-HANS``, ``no``/``nb`` as ``NB``.
- ``formality`` (``less``, the default: movement chats are informal; ``more``; ``default``)
  is sent only for the target languages DeepL offers it for, since DeepL answers 400 to it
  elsewhere.
- Several texts go in one request as repeated ``text`` form fields, and come back in order.
- 456 is quota (the character allowance is spent), 429 is retried then quota, 401/403 auth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from translation.providers.base import (
    HttpProvider,
    ProviderError,
    Sleep,
    Unsupported,
    asyncio_sleep,
    json_body,
    segments,
)

FREE_URL = "https://api-free.deepl.com"
PRO_URL = "https://api.deepl.com"
Formality = Literal["less", "more", "default"]

_CODES = "ar bg cs da de el en es et fi fr hu id it ja ko lt lv nb nl pl pt ro ru sk sl sv tr uk zh"
SOURCES = frozenset(_CODES.split())
VARIANTS = {"en": "EN-GB", "pt": "PT-BR", "zh": "ZH-HANS", "no": "NB"}
FORMALITY_TARGETS = frozenset({"DE", "FR", "IT", "ES", "NL", "PL", "PT-BR", "PT-PT", "JA", "RU"})


def source_code(code: str) -> str | None:
    code = "nb" if code == "no" else code
    return code.upper() if code in SOURCES else None


def target_code(code: str) -> str | None:
    if code in VARIANTS:
        return VARIANTS[code]
    return code.upper() if code in SOURCES else None


def is_free_key(api_key: str) -> bool:
    return api_key.endswith(":fx")


class DeepL(HttpProvider):
    name = "deepl"

    def __init__(
        self,
        api_key: str,
        *,
        formality: Formality = "less",
        timeout_s: float = 8.0,
        url: str | None = None,
        free_url: str = FREE_URL,
        pro_url: str = PRO_URL,
        sleep: Sleep = asyncio_sleep,
    ) -> None:
        """``url`` replaces the host whatever the key (a proxy); ``free_url`` and ``pro_url``
        replace DeepL's two hosts and keep the choice by key (the tests' stand-in)."""
        self.plan = "free" if is_free_key(api_key) else "pro"
        base = url or (free_url if self.plan == "free" else pro_url)
        headers = {"Authorization": f"DeepL-Auth-Key {api_key}"}
        super().__init__(base, headers, timeout_s, sleep=sleep)
        self.formality: Formality = formality

    async def translate_many(self, texts: Sequence[str], source: str, target: str) -> list[str]:
        src, tgt = source_code(source), target_code(target)
        if src is None or tgt is None:
            raise Unsupported(f"deepl offers no {source}->{target}")
        form: dict[str, str | list[str]] = {
            "text": list(texts),
            "source_lang": src,
            "target_lang": tgt,
        }
        if tgt in FORMALITY_TARGETS:
            form["formality"] = self.formality
        answer = await self.post("/v2/translate", data=form)
        status = answer.status_code
        if status == 456:
            raise ProviderError("deepl: the quota is spent (456)", kind="quota")
        if status == 429:
            raise ProviderError("deepl: too many requests (429), after retries", kind="quota")
        if status in (401, 403):
            raise ProviderError(f"deepl refused the key ({status})", kind="auth")
        if status != 200:
            raise ProviderError(f"deepl answered {status}")
        body = json_body(self.name, answer)
        try:
            got = [t["text"] for t in body["translations"]]
        except (KeyError, TypeError):
            raise ProviderError("deepl answered without translations", kind="bad_answer") from None
        return segments(self.name, texts, got)
