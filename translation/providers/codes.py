"""ISO 639-1 (the only codes the configuration accepts) -> each provider's codes.
``None``: the provider does not offer the language, and is not asked."""

from __future__ import annotations


def google_code(code: str) -> str | None:
    """Google's codes (Cloud v2 and the web endpoint take the same)."""
    from deep_translator.constants import GOOGLE_LANGUAGES_TO_CODES

    special = {"he": "iw", "zh": "zh-CN", "jv": "jw"}
    mapped = special.get(code, code)
    return mapped if mapped in GOOGLE_LANGUAGES_TO_CODES.values() else None


def microsoft_code(code: str) -> str:
    """Microsoft's codes; a language it lacks is told by its answer (400036)."""
    special = {"zh": "zh-Hans", "no": "nb", "sr": "sr-Cyrl"}
    return special.get(code, code)


def mymemory_code(code: str) -> str | None:
    from deep_translator.constants import MY_MEMORY_LANGUAGES_TO_CODES

    regional = [c for c in MY_MEMORY_LANGUAGES_TO_CODES.values() if c.split("-")[0] == code]
    preferred = f"{code}-{code.upper()}"
    if preferred in regional:
        return preferred
    return regional[0] if regional else None
