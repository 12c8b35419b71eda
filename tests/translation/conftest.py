"""The translation tests' provider: the sandbox LibreTranslate, a real HTTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandbox.libretranslate import LibreTranslateServer


@pytest.fixture
async def libre() -> AsyncIterator[LibreTranslateServer]:
    async with LibreTranslateServer() as server:
        yield server
