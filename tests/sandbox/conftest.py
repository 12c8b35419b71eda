"""The sandbox tests' fixtures: the run's one Synapse, and a started sandbox Telegram (limits
off) with the shared world of `telegram_world` and a bot of it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from sandbox.telegram import BotApiServer
from tests.sandbox.telegram_world import setup_world, tg_bot
from tests.synapse_fixture import synapse

__all__ = ["synapse"]


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns on int retry_after; opt in to timedelta so RetryAfter raises no warning
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def server() -> AsyncIterator[BotApiServer]:
    async with BotApiServer(limits=False) as srv:
        setup_world(srv)
        yield srv


@pytest.fixture
async def bot(server: BotApiServer) -> AsyncIterator[Bot]:
    async with tg_bot(server) as b:
        yield b
