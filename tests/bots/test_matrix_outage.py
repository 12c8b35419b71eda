"""A homeserver outage: Synapse (this test's own) stopped for 10 s while messages flow from
Telegram into Matrix and back. The bot rides it out and nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.test_matrix import (
    CDMX,
    JUAN,
    TOKEN,
    bot_user,
    config,
    from_bot,
    matrix_bot,
    tg_copies,
)
from tests.bots.test_matrix import tg as tg
from tests.harness import eventually, running
from tests.helpers import sandbox_bot
from tests.synapse_fixture import create_room, joined, member

OUTAGE_S = 10.0


@pytest.fixture
async def own_synapse(tmp_path: Path) -> AsyncIterator[SynapseServer]:
    async with SynapseServer(tmp_path / "hs") as server:
        yield server


async def test_a_homeserver_outage_of_10_s_loses_nothing(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str,
    own_synapse: SynapseServer, tg: BotApiServer,
) -> None:  # fmt: skip
    synapse = own_synapse
    bot = await bot_user(synapse)
    async with member(synapse, "ana", display="Ana") as ana:
        berlin = await create_room(ana, invite=(bot,))
        rooms = [
            {"id": "berlin", "bot": "mx", "chat": berlin, "language": "es", "label": "Berlin"},
            {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX"},
        ]
        bots = [matrix_bot(synapse, bot), sandbox_bot("tg", TOKEN, tg.url, limits_scale=0.01)]
        async with running(config(tmp_path, redis_url, bots, rooms)):
            await joined(ana, berlin, bot)
            sent_from_matrix = 0

            async def ana_writes(until: float) -> None:
                nonlocal sent_from_matrix
                while time.monotonic() < until:
                    await ana.say(berlin, f"desde Berlín {sent_from_matrix}")  # waits out outages
                    sent_from_matrix += 1
                    await asyncio.sleep(0.2)

            writer = asyncio.create_task(ana_writes(time.monotonic() + OUTAGE_S + 8))
            from_telegram = 0
            for _ in range(10):  # before
                tg.post(CDMX, JUAN, f"desde CDMX {from_telegram}")
                from_telegram += 1
                await asyncio.sleep(0.2)
            await synapse.stop()
            down = time.monotonic()
            while time.monotonic() - down < OUTAGE_S:  # during: they queue for Matrix
                tg.post(CDMX, JUAN, f"desde CDMX {from_telegram}")
                from_telegram += 1
                await asyncio.sleep(0.25)
            await synapse.start()
            for _ in range(10):  # after
                tg.post(CDMX, JUAN, f"desde CDMX {from_telegram}")
                from_telegram += 1
                await asyncio.sleep(0.2)
            await writer

            def copies_in_berlin(events: list[dict[str, object]]) -> bool:
                return len(from_bot(events, bot)) >= from_telegram

            await ana.wait_for(berlin, copies_in_berlin, seconds=90)
            await eventually(lambda: len(from_ana(tg)) >= sent_from_matrix, timeout=60)
            await asyncio.sleep(1)  # a duplicate would come right after
            await ana.sync(0)

    in_berlin = [str(c["body"]).split("\n", 1)[1] for c in from_bot(ana.events[berlin], bot)]
    assert Counter(in_berlin) == Counter(f"desde CDMX {i}" for i in range(from_telegram))
    assert in_berlin == [f"desde CDMX {i}" for i in range(from_telegram)]  # in order, too
    assert from_ana(tg) == [f"desde Berlín {i}" for i in range(sent_from_matrix)]


def from_ana(tg: BotApiServer) -> list[str]:
    """Ana's messages as the Telegram group sees them (copies posted by the bot)."""
    return [m["text"].split("\n", 1)[1] for m in tg_copies(tg, CDMX)
            if m["is_bot"] and m["text"].startswith("Ana (Berlin)\n")]  # fmt: skip
