"""`translocal deadletters list|retry ID|drop ID`: what failed for good, put back exactly once
or thrown away, through the real deliverers (in-memory bots) over the real Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio

from bridge.model import keys
from bridge.model.envelope import Delivery, MsgRef
from bridge.ops.deadletters import DeadLetterRefused, drop, listing, retry
from tests.harness import ROOMS, eventually, eventually_async, memory_config, running
from tests.helpers import run_cli, write_config
from tests.memory_bot import MemoryNetwork, PermanentFailure


def _arrived(net: MemoryNetwork, chat: str, text: str) -> int:
    return sum(1 for m in net.seen_in(chat) if text in m.text)


async def _dead_ids(r: redis.asyncio.Redis) -> list[str]:
    return [entry_id for entry_id, _ in await r.xrange(keys.DEAD_LETTERS)]


async def _forge(r: redis.asyncio.Redis, text: str = "secret plan") -> str:
    """A dead letter as the deliverer writes one (a copy from CDMX for Berlin)."""
    origin = MsgRef(room="cdmx", id="7")
    d = Delivery(key="k1", action="send", bot="b", room="berlin", chat="b1",
                 origin=origin, attribution="Ana (CDMX)", text=text)  # fmt: skip
    fields = {"d": d.model_dump_json(), "reason": "bot was kicked", "bot": "b"}
    return str(await r.xadd(keys.DEAD_LETTERS, fields))


async def test_a_retried_dead_letter_arrives_once_and_a_second_retry_is_refused(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    loaded = memory_config(tmp_path, redis_url)
    async with running(loaded) as (_app, net):
        net.bot("b").faults = [PermanentFailure("bot was kicked")]
        await net.bot("a").post("a1", "uno", name="Ana")
        await eventually_async(lambda: _dead_ids(redis_client), what="a dead letter")
        [dead_id] = await _dead_ids(redis_client)
        assert _arrived(net, "b1", "uno") == 0

        back = await retry(redis_client, loaded.config, dead_id)
        assert back.room == "berlin"
        await eventually(lambda: _arrived(net, "b1", "uno") == 1, what="the retried copy")

        with pytest.raises(DeadLetterRefused, match=f"no dead letter {dead_id}"):
            await retry(redis_client, loaded.config, dead_id)  # twice: refused
        # a later message crosses after whatever a second retry could have queued
        await net.bot("a").post("a1", "dos", name="Ana")
        await eventually(lambda: _arrived(net, "b1", "dos") == 1, what="the next copy")
        assert _arrived(net, "b1", "uno") == 1
        assert len([d for d in net.sends_to("b1") if d.body == "uno"]) == 1
        assert await _dead_ids(redis_client) == []


async def test_an_unknown_or_malformed_id_is_a_clear_error_and_changes_nothing(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    loaded = memory_config(tmp_path, redis_url)
    dead_id = await _forge(redis_client)
    for bad in ("1-0", "99999999999999-0", "1700000000000-0-0", "'; FLUSHALL", "", "x" * 5000):
        with pytest.raises(DeadLetterRefused) as refused:
            await retry(redis_client, loaded.config, bad)
        assert "\n" not in str(refused.value)
        assert len(str(refused.value)) < 200
        with pytest.raises(DeadLetterRefused):
            await drop(redis_client, bad)
    assert await _dead_ids(redis_client) == [dead_id]
    assert await redis_client.xlen(keys.outbox("b")) == 0


async def test_a_dead_letter_for_a_bot_no_longer_configured_is_not_retried(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    loaded = memory_config(tmp_path, redis_url)
    d = Delivery(key="k2", action="send", bot="gone", room="old", chat="x",
                 origin=MsgRef(room="cdmx", id="8"), text="t")  # fmt: skip
    dead_id = await redis_client.xadd(keys.DEAD_LETTERS, {"d": d.model_dump_json(), "reason": "r"})
    with pytest.raises(DeadLetterRefused, match="not in the config"):
        await retry(redis_client, loaded.config, dead_id)
    assert await _dead_ids(redis_client) == [dead_id]
    assert await redis_client.xlen(keys.outbox("gone")) == 0


async def test_drop_removes_the_dead_letter_and_its_text(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    dead_id = await _forge(redis_client, "the address of a member")
    await _forge(redis_client, "another")
    gone = await drop(redis_client, dead_id)
    assert gone.room == "berlin"
    remaining = await redis_client.xrange(keys.DEAD_LETTERS)
    assert len(remaining) == 1
    assert not any("the address" in str(fields) for _, fields in remaining)
    with pytest.raises(DeadLetterRefused, match=f"no dead letter {dead_id}"):
        await drop(redis_client, dead_id)


async def test_the_listing_shows_id_age_room_and_reason_but_never_the_text(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    loaded = memory_config(tmp_path, redis_url)
    dead_id = await _forge(redis_client, "secret plan")
    now = int(dead_id.split("-")[0]) / 1000 + 7200
    [line] = await listing(redis_client, loaded.config, now)
    assert line.startswith(dead_id)
    assert "2 h" in line
    assert "Berlin" in line
    assert "bot was kicked" in line
    assert "secret plan" not in line
    assert "Ana" not in line


def test_the_commands_work_as_the_docs_say(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    cfg = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url},
        "bots": [{"id": b, "platform": "memory"} for b in ("a", "b", "c")],
        "rooms": ROOMS,
        "circles": [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"]}],
    }
    path = str(write_config(tmp_path / "c.yaml", cfg))
    sync = redis.Redis.from_url(redis_url, decode_responses=True)
    d = Delivery(key="k3", action="send", bot="b", room="berlin", chat="b1",
                 origin=MsgRef(room="cdmx", id="9"), text="secret plan")  # fmt: skip
    first = sync.xadd(keys.DEAD_LETTERS, {"d": d.model_dump_json(), "reason": "kicked"})
    second = sync.xadd(keys.DEAD_LETTERS, {"d": d.model_dump_json(), "reason": "kicked"})

    def cli(*args: str) -> tuple[int, str, str]:
        done = run_cli("deadletters", *args, "-c", path, module="tests.relay_proc")
        return done.returncode, done.stdout, done.stderr

    code, out, err = cli("list")
    assert code == 0, err
    assert first in out
    assert second in out
    assert "Berlin" in out
    assert "secret" not in out
    code, out, err = cli("retry", first)
    assert code == 0, err
    assert out.strip() == f"{first}: back in the outbox of bot b (for Berlin)"
    assert sync.xlen(keys.outbox("b")) == 1
    code, out, err = cli("retry", first)
    assert code == 2
    assert err.strip() == f"translocal: no dead letter {first} (already retried or dropped?)"
    assert sync.xlen(keys.outbox("b")) == 1
    code, out, err = cli("drop", second)
    assert (code, out.strip()) == (0, f"{second}: dropped")
    code, out, err = cli("list")
    assert (code, out.strip()) == (0, "no dead letters")
    sync.close()
