"""`translocal rooms list|unlink|export`: the operator's view of the rooms linked from chat,
over the real Redis, with linked rooms made the way chat makes them (an invite redeemed).

Hostile first: a config room or an unknown id to unlink, ids a shell or YAML would misread,
a record written by hand that is not JSON, a Redis that is not there."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
import yaml

from bridge.config.linked import LinkedRoom
from bridge.config.load import load_config
from bridge.infra.links import LinkStore, load
from bridge.model import keys
from bridge.model.settings import RoomConfig
from bridge.moderation.audit import Audit
from tests.harness import ROOMS, eventually, running
from tests.helpers import NO_LIMITS, run_cli, write_config


def config_dict(tmp_path: Path, redis_url: str) -> dict[str, Any]:
    return {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url, "shards": 4},
        "bots": [{"id": b, "platform": "memory"} for b in ("a", "b", "c")],
        "rooms": [dict(r) for r in ROOMS],
        "circles": [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"]}],
        "limits": NO_LIMITS,
    }


def config_file(tmp_path: Path, redis_url: str) -> Path:
    return write_config(tmp_path / "c.yaml", config_dict(tmp_path, redis_url))


async def link(
    r: redis.asyncio.Redis,
    room_id: str = "porto",
    chat: str = "p1",
    label: str = "Porto",
    bot: str = "a",
) -> LinkedRoom:
    """A room linked as chat links one: a moderator's invite, redeemed by the new room."""
    store = LinkStore(r, time.time)
    code = await store.invite("net", "memory:mod", "berlin")
    assert code is not None
    room = RoomConfig(id=room_id, bot=bot, chat=chat, language="pt", label=label,
                      timezone="Europe/Lisbon")  # fmt: skip
    found = LinkedRoom(room=room, circle="net", linked_by="memory:rita", linked_at=time.time())
    assert (await store.redeem(code, "net", found)).outcome == "linked"
    return found


def cli(*args: str) -> Any:
    return run_cli("rooms", *args, module="tests.relay_proc")


# hostile first


async def test_unlinking_a_config_room_is_refused_with_one_line_and_changes_nothing(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    path = config_file(tmp_path, redis_url)
    await link(redis_client)
    version = await redis_client.get(keys.LINKED_VERSION)
    done = cli("unlink", "berlin", "-c", str(path))
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "berlin" in line
    assert "config file" in line
    assert "Traceback" not in done.stderr
    assert await redis_client.hkeys(keys.LINKED) == ["porto"]
    assert await redis_client.get(keys.LINKED_VERSION) == version
    assert await Audit(redis_client, 30).read() == []


@pytest.mark.parametrize(
    "bad", ["lisbon", "'; FLUSHALL", "$(rm -rf ~)", "a\nb: c", "x" * 5000, "--"]
)
async def test_unlinking_an_unknown_or_hostile_id_is_a_short_error_and_changes_nothing(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, bad: str
) -> None:
    path = config_file(tmp_path, redis_url)
    await link(redis_client)
    done = cli("unlink", "-c", str(path), "--", bad)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "no linked room" in line
    assert "translocal rooms list" in line
    assert len(line) < 200
    assert await redis_client.hkeys(keys.LINKED) == ["porto"]
    assert await redis_client.dbsize() > 0  # no FLUSHALL ran, of course


async def test_a_record_that_is_not_json_is_named_and_the_other_rooms_listed(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    path = config_file(tmp_path, redis_url)
    await link(redis_client)
    await redis_client.hset(keys.LINKED, "lima", '{"room": {"id": "lima", ')  # by hand, cut
    done = cli("list", "-c", str(path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "porto" in out
    assert "cdmx" in out
    assert "1 linked room record is unreadable: lima" in out
    assert "translocal rooms unlink lima" in out
    # and it can be removed so
    gone = cli("unlink", "lima", "-c", str(path))
    assert gone.returncode == 0, gone.stderr
    assert await redis_client.hkeys(keys.LINKED) == ["porto"]


async def test_a_record_the_config_file_wins_over_is_listed_as_left_out_and_not_exported(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    path = config_file(tmp_path, redis_url)
    await link(redis_client, "porto", "a1")  # CDMX's chat, which the file has
    done = cli("list", "-c", str(path))
    assert done.returncode == 0, done.stderr
    [porto] = [line for line in done.stdout.splitlines() if line.startswith("porto")]
    assert "left out: the config file has its chat, as room 'cdmx'" in porto
    assert done.stderr == ""  # said once, in the table
    exported = cli("export", "-c", str(path))
    assert "porto" not in exported.stdout
    assert await redis_client.hkeys(keys.LINKED) == ["porto"]  # list changes nothing


async def test_a_record_under_a_hostile_key_is_named_quoted_for_the_shell_and_removable(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    path = config_file(tmp_path, redis_url)
    found = await link(redis_client)
    key = "x: $(reboot) #"
    await redis_client.hset(keys.LINKED, key, found.model_dump_json())  # porto, by hand
    done = cli("list", "-c", str(path))
    assert done.returncode == 0, done.stderr
    assert "unreadable: x: $(reboot) #" in done.stdout
    assert "`translocal rooms unlink 'x: $(reboot) #'` removes one" in done.stdout
    assert "porto" in done.stdout  # the real one still listed
    gone = cli("unlink", "-c", str(path), "--", key)
    assert gone.returncode == 0, gone.stderr
    assert await redis_client.hkeys(keys.LINKED) == ["porto"]
    assert await redis_client.hvals(keys.LINKED_CHATS) == ["porto"]  # porto's chat still held
    exported = yaml.safe_load(cli("export", "-c", str(path)).stdout)
    assert [r["id"] for r in exported["rooms"]] == ["porto"]


@pytest.mark.parametrize("args", [["list"], ["unlink", "porto"], ["export"]])
def test_redis_unreachable_is_one_line_and_exit_4(tmp_path: Path, args: list[str]) -> None:
    path = config_file(tmp_path, "redis://127.0.0.1:1/0")
    done = cli(*args, "-c", str(path))
    assert done.returncode == 4, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("translocal: ")
    assert "Traceback" not in done.stderr


# what the operator sees


async def test_list_shows_config_and_linked_rooms_with_who_linked_them_and_when(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    path = config_file(tmp_path, redis_url)
    found = await link(redis_client)
    done = cli("list", "-c", str(path))
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert lines["id"].split() == ["id", "label", "language", "platform", "circles", "source"]
    assert lines["cdmx"].split() == ["cdmx", "CDMX", "es", "memory", "net", "config"]
    day = time.strftime("%Y-%m-%d", time.gmtime(found.linked_at))
    assert lines["porto"].split()[:5] == ["porto", "Porto", "pt", "memory", "net"]
    assert f"linked by memory:rita on {day}" in lines["porto"]
    status = run_cli("status", "-c", str(path), module="tests.relay_proc")
    assert status.returncode == 0, status.stderr
    rows = {line.split()[0]: line for line in status.stdout.splitlines() if line.strip()}
    assert rows["porto"].split()[-1] == "linked"
    assert rows["cdmx"].split()[-1] == "config"


async def test_unlink_removes_a_linked_room_audited_and_the_running_bridge_lets_it_go(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    path = config_file(tmp_path, redis_url)
    await link(redis_client)
    loaded = load_config(path, env={})
    async with running(loaded) as (app, _net):
        app_rooms = app.config.rooms
        assert "porto" in [r.id for r in app_rooms]
        done = cli("unlink", "porto", "-c", str(path))
        assert done.returncode == 0, done.stderr
        assert "unlinked porto" in done.stdout
        await eventually(lambda: "porto" not in [r.id for r in app_rooms], what="porto gone")
        assert "porto" not in app.config.circles[0].rooms
    assert await redis_client.hkeys(keys.LINKED) == []
    [entry] = await Audit(redis_client, 30).read()
    assert (entry.room, entry.action, entry.outcome) == ("porto", "unlink", "done")
    assert entry.who.startswith("operator")
    again = cli("unlink", "porto", "-c", str(path))
    assert again.returncode == 2  # gone: nothing left to unlink


async def test_export_quotes_what_yaml_would_misread_and_pasted_into_the_config_loads(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = config_file(tmp_path, redis_url)
    await link(redis_client, "porto", "-1001234567890", "Porto: Norte #1")
    await link(redis_client, "lyon", "!abc:example.org", "yes", bot="b")
    done = cli("export", "-c", str(path))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "chat: '-1001234567890'" in text or 'chat: "-1001234567890"' in text
    exported = yaml.safe_load(text)
    by_id = {r["id"]: r for r in exported["rooms"]}
    assert by_id["porto"]["chat"] == "-1001234567890"
    assert by_id["porto"]["label"] == "Porto: Norte #1"
    lyon = {"id": "lyon", "bot": "b", "chat": "!abc:example.org", "language": "pt",
            "label": "yes", "timezone": "Europe/Lisbon"}  # fmt: skip
    assert by_id["lyon"] == lyon  # "yes" stays a string, "!abc" is no YAML tag
    assert "#   net: lyon, porto" in text  # the ids to add to the circle's rooms list

    # pasted: the rooms under rooms:, the ids in the circle's list
    pasted = config_dict(tmp_path, redis_url)
    pasted["rooms"] += exported["rooms"]
    pasted["circles"][0]["rooms"] += ["lyon", "porto"]
    config = load_config(write_config(tmp_path / "pasted.yaml", pasted), env={}).config
    assert config.room("porto").label == "Porto: Norte #1"
    # the next start: the file's rooms take over, the linked records go, with a log line
    with caplog.at_level(logging.WARNING, logger="bridge.infra.links"):
        await load(config, LinkStore(redis_client, time.time))
    assert await redis_client.hkeys(keys.LINKED) == []
    said = caplog.text
    assert "linked room porto: unlinked (the config file decides)" in said
    assert "linked room lyon: unlinked (the config file decides)" in said
    listed = cli("list", "-c", str(tmp_path / "pasted.yaml"))
    assert "linked by" not in listed.stdout


def test_export_with_nothing_linked_says_so_and_is_still_yaml(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    done = cli("export", "-c", str(config_file(tmp_path, redis_url)))
    assert done.returncode == 0, done.stderr
    assert "no linked rooms" in done.stdout
    assert yaml.safe_load(done.stdout) is None  # comments only
