"""Matrix under faults, and hostile messages through the real Matrix adapter.

- The bridge process SIGKILLed at random moments, this test's own Synapse stopped for 10 s,
  and the sandbox Telegram answering 429, 5xx or failing held requests, all in one run,
  while members of a Telegram group and a Matrix room write both ways. Nothing is lost or
  reordered, nothing is doubled in Matrix (a resend after a kill carries the same
  transaction id, on the same device, and the homeserver absorbs it), and Telegram
  duplicates stay within the crash window, counted.
- A sample of the hostile messages, from Matrix (formatted_body) to Telegram and from
  Telegram (text and entities) to Matrix: each copy is the sender's text with only the
  sender's formatting.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from nio import RoomMessagesResponse
from nio.api import MessageDirection

from bots.matrix import render as matrix_render
from bots.telegram.render import entities_to_spans
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.test_matrix import CDMX, JUAN, TOKEN, bot_user, from_bot, matrix_bot, tg_copies
from tests.bots.test_matrix import config as matrix_config
from tests.bots.test_matrix import tg as tg
from tests.bots.test_matrix_render import check as check_matrix
from tests.bots.test_matrix_render import layout
from tests.harness import eventually, running
from tests.helpers import NO_LIMITS, Proc, sandbox_bot, write_config
from tests.reliability.hostile import (
    MATRIX_TAGS,
    assert_no_injected_markup,
    delivery,
    heads,
    untranslated,
)
from tests.reliability.test_hostile_telegram import check_entities, copy_as_expected, fitted, sample
from tests.synapse_fixture import Member, create_room, joined, member

OUTAGE_S = 10.0
KILLS = 3
TRACEBACK = re.compile(r"Traceback|\bERROR\b")
ID = re.compile(r"m(\d{5})\|")


@pytest.fixture
async def own_synapse(tmp_path: Path) -> AsyncIterator[SynapseServer]:
    async with SynapseServer(tmp_path / "hs") as server:
        yield server


def write_bridge_config(tmp_path: Path, redis_url: str, bots: list[Any], rooms: list[Any]) -> Path:
    cfg: dict[str, object] = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url, "shards": 4},
        "bots": bots,
        "rooms": rooms,
        "circles": [{"id": "net", "rooms": [r["id"] for r in rooms], "relay": "all"}],
        "limits": NO_LIMITS,
    }
    return write_config(tmp_path / "mx.yaml", cfg)


def spawn(config: Path) -> Proc:
    return Proc("run", "-c", str(config), "--lease-ms", "1000")


async def started(proc: Proc) -> None:
    await asyncio.to_thread(proc.wait_for, "translocal is running", 60)


async def history(person: Member, room_id: str) -> list[dict[str, Any]]:
    """Every event of the room, oldest first, as scrolling back shows them (not a sync)."""
    events: list[dict[str, Any]] = []
    start = ""
    while True:
        response = await person.client.room_messages(
            room_id, start=start, limit=500, direction=MessageDirection.back
        )
        assert isinstance(response, RoomMessagesResponse), response
        events += [e.source for e in response.chunk]
        if not response.chunk or not response.end:
            return events[::-1]
        start = response.end


def in_telegram(tg: BotApiServer) -> list[str]:
    """Ana's messages as the Telegram group sees them."""
    return [m["text"].split("\n", 1)[1] for m in tg_copies(tg, CDMX)
            if m["is_bot"] and m["text"].startswith("Ana (Berlin)\n")]  # fmt: skip


async def test_kills_an_outage_and_telegram_faults_double_nothing_in_matrix(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str,
    own_synapse: SynapseServer, tg: BotApiServer,
) -> None:  # fmt: skip
    synapse = own_synapse
    rng = random.Random(7)
    bot = await bot_user(synapse)
    tg.faults(p_5xx=0.03, p_429=0.03, p_timeout=0.02, timeout_s=0.5, seed=11,
              methods=["sendMessage"])  # fmt: skip
    async with member(synapse, "ana", display="Ana") as ana:
        berlin = await create_room(ana, invite=(bot,))
        rooms = [
            {"id": "berlin", "bot": "mx", "chat": berlin, "language": "es", "label": "Berlin"},
            {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX"},
        ]
        bots = [matrix_bot(synapse, bot), sandbox_bot("tg", TOKEN, tg.url, limits_scale=0.01)]
        config = write_bridge_config(tmp_path, redis_url, bots, rooms)
        bridge = spawn(config)
        everyone = [bridge]
        await started(bridge)
        await joined(ana, berlin, bot)

        # a timeline of 26 s: kills before and after a 10 s outage of the homeserver (a
        # bridge started while it is down stops at once, exit 4, as it should)
        outage_at = 6.0
        kill_times = sorted([rng.uniform(1, 5), rng.uniform(18, 21), rng.uniform(22, 25)])
        end = 26.0
        from_matrix = 0

        async def ana_writes(until: float) -> None:
            nonlocal from_matrix
            while time.monotonic() < until:
                await ana.say(berlin, f"desde Berlín {from_matrix}")  # waits out the outage
                from_matrix += 1
                await asyncio.sleep(0.3)

        start = time.monotonic()
        writer = asyncio.create_task(ana_writes(start + end))
        from_telegram = 0
        outage_done = False
        while (now := time.monotonic() - start) < end:
            tg.post(CDMX, JUAN, f"desde CDMX {from_telegram}")
            from_telegram += 1
            if kill_times and now >= kill_times[0]:
                kill_times.pop(0)
                bridge.popen.send_signal(signal.SIGKILL)
                await asyncio.to_thread(bridge.wait)
                bridge = spawn(config)
                everyone.append(bridge)
            if not outage_done and now >= outage_at:
                outage_done = True
                await synapse.stop()
                down = time.monotonic()
                while time.monotonic() - down < OUTAGE_S:  # Telegram's members write on
                    tg.post(CDMX, JUAN, f"desde CDMX {from_telegram}")
                    from_telegram += 1
                    await asyncio.sleep(0.25)
                await synapse.start()
            await asyncio.sleep(0.15)
        await writer
        assert not kill_times

        async def in_berlin() -> list[str]:
            return [
                str(c["body"]).split("\n", 1)[1] for c in from_bot(await history(ana, berlin), bot)
            ]

        deadline = time.monotonic() + 120
        while len(await in_berlin()) < from_telegram and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await eventually(lambda: len(in_telegram(tg)) >= from_matrix, timeout=90)
        await asyncio.sleep(1)  # a duplicate would come right after
        assert bridge.stop() == 0
        copied = await in_berlin()

    assert [b for b, n in Counter(copied).items() if n > 1] == []  # none twice in Matrix
    assert copied == [f"desde CDMX {i}" for i in range(from_telegram)]  # none lost, in order
    copies = in_telegram(tg)
    duplicates = sum(n - 1 for n in Counter(copies).values())
    assert list(dict.fromkeys(copies)) == [f"desde Berlín {i}" for i in range(from_matrix)]
    print(f"\nfrom Telegram {from_telegram}, from Matrix {from_matrix}; kills {KILLS}; "
          f"faults {dict(tg.fault_counts)}; Telegram duplicates {duplicates}")  # fmt: skip
    assert duplicates <= KILLS  # one chat: at most one copy in the window per kill
    assert sum(tg.fault_counts.values()) > 0
    crashes = [line for p in everyone for line in p.lines if TRACEBACK.search(line)]
    assert crashes == []


SAMPLE = 15  # from each side


async def test_hostile_messages_through_the_matrix_adapter_arrive_as_text(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str,
    synapse: SynapseServer, tg: BotApiServer,
) -> None:  # fmt: skip
    bot = await bot_user(synapse)
    messages = sample(2 * SAMPLE)
    async with member(synapse, "ana", display="Ana") as ana:
        berlin = await create_room(ana, invite=(bot,))
        rooms = [
            {"id": "berlin", "bot": "mx", "chat": berlin, "language": "es", "label": "Berlin"},
            {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX"},
        ]
        bots = [matrix_bot(synapse, bot), sandbox_bot("tg", TOKEN, tg.url, limits_scale=0.01)]
        sent: dict[int, tuple[str, Any]] = {}
        async with running(matrix_config(tmp_path, redis_url, bots, rooms)):
            await joined(ana, berlin, bot)
            for i, message in enumerate(messages):
                if i % 2 == 0:  # from Telegram, with its entities
                    text, entities = fitted(i, message)
                    shown = tg.post(CDMX, JUAN, text, entities=entities)
                    spans = entities_to_spans(shown["text"], shown.get("entities", []))
                    sent[i] = (shown["text"], spans)
                else:  # from Matrix, a formatted_body with a plain body beside it
                    formatted = f"m{i:05d}|{message.formatted}"
                    text, spans = matrix_render.html_to_spans(formatted)
                    await ana.say(berlin, text, html=formatted)
                    sent[i] = (text, spans)

            deadline = time.monotonic() + 60
            while len(from_bot(await history(ana, berlin), bot)) < SAMPLE:
                assert time.monotonic() < deadline, "copies missing in Berlin"
                await asyncio.sleep(0.5)
            await eventually(lambda: len(tg_copies(tg, CDMX)) >= 2 * SAMPLE, timeout=60)
            await asyncio.sleep(1)
            events = await history(ana, berlin)

    arrived: Counter[int] = Counter()
    for content in from_bot(events, bot):
        body, formatted = str(content["body"]), str(content.get("formatted_body", ""))
        found = ID.search(body)
        assert found, body[:60]
        i = int(found.group(1))
        arrived[i] += 1
        text, spans = sent[i]
        d = delivery(text, spans, attribution="Juan (CDMX)")
        note = untranslated(body)
        if note:
            d = delivery(text, spans, attribution="Juan (CDMX)", untranslated=True,
                         language=note[0], source_language=note[1])  # fmt: skip
        check_matrix([(body, formatted)], layout(d), 32_000, heads(d, matrix=True))  # whole
        assert_no_injected_markup([formatted], d, MATRIX_TAGS, "blockquote")
    assert sorted(arrived) == list(range(0, 2 * SAMPLE, 2))
    assert set(arrived.values()) == {1}
    in_cdmx: Counter[int] = Counter()
    for copy in tg_copies(tg, CDMX):
        if not copy["is_bot"]:
            continue
        found = ID.search(copy["text"])
        assert found, copy["text"][:60]
        in_cdmx[int(found.group(1))] += 1
        text, spans = sent[int(found.group(1))]
        check_entities(copy, copy_as_expected(text, spans, "Berlin", copy["text"]))
    assert sorted(in_cdmx) == list(range(1, 2 * SAMPLE, 2))
    assert set(in_cdmx.values()) == {1}
