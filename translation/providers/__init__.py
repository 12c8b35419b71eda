"""Translation providers.

- LibreTranslate (the default, self-hosted: the text stays with the operator): ``libre``.
- Providers with keys, on their documented HTTP APIs over httpx, keys in headers only:
  DeepL (``deepl``), Google Cloud Translation v2 (``google``), Microsoft Translator v3
  (``microsoft``). Several texts per call (``translate_many``); quota and auth errors are
  marked so the chain skips the provider until the next hour and tells the operator.
- Keyless ones through deep-translator, each in a bulkhead of its own (``keyless``):
  ``mymemory`` and ``google_web`` (unofficial).

``make_provider`` builds one by its configured name.
"""

from __future__ import annotations

from translation.providers.base import HttpProvider, Provider, ProviderError, Unsupported
from translation.providers.deepl import DeepL, Formality
from translation.providers.google import GoogleCloud
from translation.providers.keyless import DeepTranslatorProvider, keyless
from translation.providers.libre import LibreTranslate
from translation.providers.microsoft import Microsoft

KEYED = ("deepl", "google", "microsoft")
KEYLESS = ("google_web", "mymemory")

__all__ = [
    "KEYED",
    "KEYLESS",
    "DeepL",
    "DeepTranslatorProvider",
    "Formality",
    "GoogleCloud",
    "HttpProvider",
    "LibreTranslate",
    "Microsoft",
    "Provider",
    "ProviderError",
    "Unsupported",
    "keyless",
    "make_provider",
]


def make_provider(
    name: str,
    *,
    url: str | None = None,
    api_key: str | None = None,
    region: str | None = None,
    formality: Formality = "less",
    timeout_s: float = 8.0,
) -> Provider:
    """The provider named ``name`` (as configured; ``libre`` is ``libretranslate``). ``url``
    is LibreTranslate's base URL, or for the others a replacement of the documented host."""
    if name in ("libretranslate", "libre"):
        if url is None:
            raise ValueError("libretranslate needs url")
        return LibreTranslate(url, api_key, timeout_s)
    if name in KEYLESS:
        return keyless(name, timeout_s=timeout_s)
    if name not in KEYED:
        raise ValueError(f"no translation provider named {name!r}")
    if not api_key:
        raise ValueError(f"{name} needs api_key")
    if name == "deepl":
        return DeepL(api_key, formality=formality, timeout_s=timeout_s, url=url)
    if name == "google":
        return GoogleCloud(api_key, timeout_s=timeout_s, url=url)
    return Microsoft(api_key, region=region, timeout_s=timeout_s, url=url)
