"""`translocal check` on what the config itself says: circles, past call-outs, and `--json`.

The rooms here are on the in-memory platform, which cannot be checked (its rows say so), so
each test shows what the config rows add; the Telegram and Matrix rows are tested in
tests/bots/test_telegram_check.py and tests/bots/test_matrix_check.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.check import run_check
from bridge.config.load import load_config
from tests.helpers import lifecycle_config, run_cli, write_config


def config(tmp_path: Path, redis_url: str, **overrides: Any) -> Path:
    cfg = lifecycle_config(data_dir=str(tmp_path / "data"), redis={"url": redis_url}, **overrides)
    return write_config(tmp_path / "c.yaml", cfg)


def rows(out: str) -> dict[str, str]:
    """The table's lines by their first column (a room's rows joined into one)."""
    found: dict[str, str] = {}
    for line in out.splitlines()[1:]:
        what = line.split("  ")[0].strip()
        found[what] = f"{found[what]}\n{line}" if what in found else line
    return found


ROOMS = [
    {"id": "cdmx", "bot": "a", "chat": "a1", "language": "es", "label": "CDMX"},
    {"id": "berlin", "bot": "b", "chat": "b1", "language": "de", "label": "Berlin"},
    {"id": "toronto", "bot": "b", "chat": "b2", "language": "en", "label": "Toronto"},
]


async def test_no_circles_at_all_is_a_warning_that_says_nothing_crosses(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    loaded = load_config(config(tmp_path, redis_url, circles=[]), env={})
    await run_check(loaded)
    line = rows(capsys.readouterr().out)["circles"]
    assert "warning" in line
    assert "no circles" in line
    assert "nothing crosses" in line


async def test_a_room_in_no_circle_is_a_warning_naming_the_room(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    loaded = load_config(config(tmp_path, redis_url, rooms=ROOMS), env={})
    await run_check(loaded)
    found = rows(capsys.readouterr().out)
    assert "circles" not in found  # there is one
    assert "warning" in found["room toronto"]
    assert "in no circle" in found["room toronto"]
    assert "in no circle" not in found.get("room cdmx", "")


async def test_a_callout_whose_time_is_past_is_a_warning_naming_it(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    callouts = [
        {"id": "last-year", "circles": ["housing"], "at": "2001-01-01 17:00",
         "language": "en", "text": "Assembly"},
        {"id": "next-year", "circles": ["housing"], "at": "2999-01-01 17:00",
         "language": "en", "text": "Assembly"},
        {"id": "weekly", "circles": ["housing"], "cron": "0 17 * * 1",
         "language": "en", "text": "Assembly"},
    ]  # fmt: skip
    loaded = load_config(config(tmp_path, redis_url, callouts=callouts), env={})
    code = await run_check(loaded)
    found = rows(capsys.readouterr().out)
    assert "warning" in found["call-out last-year"]
    assert "2001-01-01 17:00" in found["call-out last-year"]
    assert "already past" in found["call-out last-year"]
    assert "call-out next-year" not in found
    assert "call-out weekly" not in found
    assert code == 0  # a warning does not change the exit code


def test_check_json_prints_the_same_rows_as_a_list_and_keeps_the_exit_code(
    tmp_path: Path, redis_url: str
) -> None:
    path = config(tmp_path, redis_url, circles=[])
    table = run_cli("check", "-c", str(path), module="tests.relay_proc")
    result = run_cli("check", "--json", "-c", str(path), module="tests.relay_proc")
    assert result.returncode == table.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert isinstance(listed, list)
    assert {"check", "result", "detail"} <= set(listed[0])
    by_check = {r["check"]: r for r in listed}
    assert by_check["circles"]["result"] == "warning"
    assert by_check["redis"]["result"] == "ok"
    assert len(listed) == len(table.stdout.splitlines()) - 1  # the table has a heading


def test_check_json_keeps_exit_4_when_redis_is_unreachable(tmp_path: Path) -> None:
    path = config(tmp_path, "redis://127.0.0.1:1/0")
    result = run_cli("check", "--json", "-c", str(path), module="tests.relay_proc")
    assert result.returncode == 4, result.stderr
    by_check = {r["check"]: r for r in json.loads(result.stdout)}
    assert by_check["redis"]["result"] == "FAILED"
