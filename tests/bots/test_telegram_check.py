"""`translocal check` on Telegram rooms, and a refused token at start-up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bridge.check import run_check
from bridge.config.load import load_config
from sandbox.telegram import BotApiServer
from tests.helpers import run_cli, sandbox_bot, write_config

GOOD = "5000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
PRIVATE = "5000002:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"  # privacy mode on
CDMX, BERLIN, FORUM, ABSENT = -1001000000001, -1001000000002, -1001000000003, -1001000000404


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with BotApiServer(limits=False) as server:
        server.add_bot(GOOD, "good_bot")
        server.add_bot(PRIVATE, "private_bot", can_read_all_group_messages=False)
        server.create_chat(CDMX, "CDMX")
        server.create_chat(BERLIN, "Berlin")
        server.create_chat(FORUM, "Forum", is_forum=True)
        server.add_member(CDMX, 5000001)
        server.add_member(FORUM, 5000001, admin=True)
        server.add_member(BERLIN, 5000002)
        yield server


def config(
    tmp_path: Path, tg: BotApiServer, rooms: list[dict[str, Any]], token_a: str = GOOD
) -> Path:
    cfg = {
        "data_dir": str(tmp_path / "data"),
        "bots": [
            sandbox_bot("a", token_a, tg.url),
            sandbox_bot("b", PRIVATE, tg.url),
        ],
        "rooms": rooms,
    }
    return write_config(tmp_path / "c.yaml", cfg)


def room(rid: str, bot: str, chat: int, **extra: Any) -> dict[str, Any]:
    return {"id": rid, "bot": bot, "chat": chat, "language": "es", "label": rid, **extra}


async def test_check_reports_each_room_and_how_to_fix_it(
    tmp_path: Path, tg: BotApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    topic = tg.create_topic(FORUM, "Wohnen")
    rooms = [
        room("cdmx", "a", CDMX),
        room("berlin", "b", BERLIN),
        room("absent", "a", ABSENT),
        room("forum", "a", FORUM, topic=topic),
        room("gone-topic", "a", FORUM, topic=topic + 50),
    ]
    loaded = load_config(config(tmp_path, tg, rooms), env={})
    code = await run_check(loaded)
    out = {
        line.split()[1]: line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("room ")
    }
    assert code == 4
    assert out["cdmx"].split()[2] == "ok"
    assert "member, can post, reads all messages" in out["cdmx"]
    assert out["berlin"].split()[2] == "FAILED"
    assert "/setprivacy" in out["berlin"]
    assert out["absent"].split()[2] == "FAILED"
    assert "add it" in out["absent"]
    assert "admin, can post" in out["forum"]
    # Telegram sends reactions to admin bots only: RSVP ✊/🤔 cannot be counted in cdmx
    assert "reactions do not reach it" in out["cdmx"]
    assert "RSVP" in out["cdmx"]
    assert "reactions" not in out["forum"]
    assert f"topic {topic}" in out["forum"]
    assert out["gone-topic"].split()[2] == "FAILED"
    assert "message thread not found" in out["gone-topic"].lower()


async def test_all_ready_exits_0(tmp_path: Path, tg: BotApiServer) -> None:
    loaded = load_config(config(tmp_path, tg, [room("cdmx", "a", CDMX)]), env={})
    assert await run_check(loaded) == 0


async def test_a_refused_token_stops_run_at_start_with_exit_4(
    tmp_path: Path, tg: BotApiServer
) -> None:
    wrong = "5000009:ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
    path = config(tmp_path, tg, [room("cdmx", "a", CDMX)], token_a=wrong)
    result = await asyncio.to_thread(run_cli, "run", "-c", str(path))
    assert result.returncode == 4, result.stderr
    assert "telegram bot a: the Bot API refused its token" in result.stderr
    assert "ZZZZZZZZ" not in result.stderr


async def test_every_row_names_its_bot_and_a_refused_token_names_which_bot(
    tmp_path: Path, tg: BotApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = "5000009:ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
    tg.add_member(CDMX, 5000002, admin=True)
    rooms = [room("cdmx", "a", CDMX), room("cdmx-b", "b", CDMX)]
    loaded = load_config(config(tmp_path, tg, rooms, token_a=wrong), env={})
    code = await run_check(loaded)
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("room ")}
    assert code == 4
    assert "FAILED" in lines["cdmx"]
    assert "telegram bot a: the Bot API refused the token" in lines["cdmx"]
    assert "ok" in lines["cdmx-b"].split()
    assert "telegram bot b: " in lines["cdmx-b"]
    assert "ZZZZZZZZ" not in out
