"""One envelope that meets a defect is dropped, said in one line without its text, and
counted; it does not stop the relay for every room (the review of this round found two
commands that raised on a member's input and stopped the relay role: `vote ²`, and
`poll results` for a poll whose room had left)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
import redis.asyncio

from bridge.commands.registry import COMMANDS, Call
from bridge.infra.metrics import REGISTRY
from tests.harness import eventually, memory_config, running
from tests.helpers import BODY_CANARY
from tests.memory_bot import NETWORK


async def _defect(call: Call) -> None:
    raise ValueError(f"invalid literal for int(): {call.envelope.args!r}")


async def test_an_envelope_a_handler_chokes_on_is_dropped_and_every_room_keeps_flowing(
    tmp_path: Path,
    redis_url: str,
    redis_client: redis.asyncio.Redis,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = REGISTRY.get_sample_value("translocal_plan_failures_total") or 0.0
    with caplog.at_level(logging.ERROR):
        async with running(memory_config(tmp_path, redis_url, relay="all")):
            # the handlers are loaded once the bridge runs; one of them now has a defect
            monkeypatch.setitem(COMMANDS, "circle", replace(COMMANDS["circle"], handler=_defect))
            await NETWORK.bot("c").command("c1", "circle", BODY_CANARY, who="eve")
            await NETWORK.bot("c").post("c1", "still flowing")
            await NETWORK.bot("a").post("a1", "sigue")
            await eventually(lambda: any("still flowing" in d.text
                                         for d in NETWORK.sends_to("a1")))  # fmt: skip
            await eventually(lambda: any("sigue" in d.text for d in NETWORK.sends_to("b1")))
    failures = [r.getMessage() for r in caplog.records if "could not be planned" in r.getMessage()]
    assert len(failures) == 1
    assert "command circle" in failures[0]
    assert "ValueError at test_poison_entry.py:" in failures[0]
    assert BODY_CANARY not in caplog.text
    assert REGISTRY.get_sample_value("translocal_plan_failures_total") == before + 1
