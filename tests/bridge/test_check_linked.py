"""`translocal check` with rooms linked from chat: it names them, checks them as it checks the
config file's rooms (the platform rows run over them), says which records it leaves out and
why, and changes nothing in Redis (a check is read-only: the next `run` does the unlinking)."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio

from bridge.model import keys
from tests.bridge.test_check import rows
from tests.bridge.test_rooms_cli import config_file, link
from tests.helpers import run_cli


async def test_check_lists_linked_rooms_and_checks_them_like_the_files(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    path = config_file(tmp_path, redis_url)
    await link(redis_client, "porto", "p1", "Porto")
    done = run_cli("check", "-c", str(path), module="tests.relay_proc")
    assert done.returncode == 0, done.stdout + done.stderr
    found = rows(done.stdout)
    assert "1 linked from chat: porto" in found["linked rooms"]
    porto = found["room porto"]
    assert "linked from chat into circle net by memory:rita" in porto
    # the platform's row, as for the file's rooms (memory rooms cannot be checked)
    assert "memory bot a: chat p1" in porto
    assert "memory bot a: chat a1" in found["room cdmx"]
    assert "in no circle" not in porto


async def test_check_says_which_linked_records_it_leaves_out_and_changes_nothing(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    path = config_file(tmp_path, redis_url)
    await link(redis_client, "porto", "a1", "Porto")  # the file's cdmx chat, linked by hand
    await redis_client.hset(keys.LINKED, "lima", "not json")
    done = run_cli("check", "-c", str(path), module="tests.relay_proc")
    assert done.returncode == 0, done.stdout + done.stderr  # warnings only
    found = rows(done.stdout)
    assert "warning" in found["room porto"]
    assert "left out" in found["room porto"]
    assert "cdmx" in found["room porto"]
    assert "unreadable: lima" in found["linked rooms"]
    assert sorted(await redis_client.hkeys(keys.LINKED)) == ["lima", "porto"]


def test_check_with_redis_unreachable_says_linked_rooms_were_not_read(tmp_path: Path) -> None:
    path = config_file(tmp_path, "redis://127.0.0.1:1/0")
    done = run_cli("check", "-c", str(path), module="tests.relay_proc")
    assert done.returncode == 4
    assert "unchecked" in rows(done.stdout)["linked rooms"]
