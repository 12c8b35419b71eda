"""The relay's translation seam. The translation issue plugs real providers in here."""

from __future__ import annotations

from typing import Protocol


class Translator(Protocol):
    async def translate(self, text: str, source: str, targets: set[str]) -> dict[str, str]:
        """``text`` (in ``source``) in every language of ``targets``, each translated once."""
        ...


class PassThrough:
    """No translation configured: every room gets the original."""

    async def translate(self, text: str, source: str, targets: set[str]) -> dict[str, str]:
        return dict.fromkeys(targets, text)
