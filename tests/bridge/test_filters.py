"""Word filters through the real relay and Redis, with in-memory bots: a matching copy is held
in the room that filters it, its moderators release or drop it, a pattern that does not
compile is refused with its position, and a catastrophic pattern cannot stall the relay."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio

from bridge.config.load import load_config
from bridge.model import keys
from bridge.model.settings import MAX_FILTERS
from bridge.moderation.audit import Audit
from bridge.moderation.filters import TermError, compile_term
from tests.bridge.test_moderation import answers, copies, settled
from tests.harness import ROOMS, committed, eventually, memory_config, running
from tests.helpers import write_config


def held_notices(chat: str) -> list[str]:
    """The held notices (not the help, which names the commands too)."""
    return [a for a in answers(chat) if "+release" in a and "+drop" in a and "+share" not in a]


async def test_a_filtered_word_is_held_in_that_room_only_until_a_moderator_releases_it(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        berlin, cdmx = net.bot("b"), net.bot("a")
        # a member of Berlin who is not a moderator cannot add a filter
        await berlin.command("b1", "filter", "add desalojo", who="jonas")
        await eventually(lambda: any("+filter" in a for a in answers("b1")), what="refusal")
        await berlin.command("b1", "filter", "add Desalojo", who="mod", admin=True)
        await eventually(lambda: any("Desalojo" in a for a in answers("b1")), what="added")

        await cdmx.post("a1", "Mañana hay un desalojo en Tlalpan", name="Ana")
        await eventually(lambda: len(copies("c1", "desalojo")) == 1, what="NYC copy")
        await eventually(lambda: len(held_notices("b1")) == 1, what="the held notice")
        await settled(net, "b1")
        assert not copies("b1", "Tlalpan")  # held: Berlin does not see it
        notice = next(m for m in net.seen_in("b1") if m.text in held_notices("b1"))
        assert "CDMX" in notice.text  # names the room, not the text
        assert "Tlalpan" not in notice.text

        # a member replying release is refused; a moderator of another room cannot either
        await berlin.command("b1", "release", reply_to=notice.id, who="jonas")
        await cdmx.command("a1", "release", reply_to=notice.id, who="mod", admin=True)
        await settled(net, "b1")
        assert not copies("b1", "Tlalpan")

        await berlin.command("b1", "release", reply_to=notice.id, who="mod", admin=True)
        await eventually(lambda: len(copies("b1", "Tlalpan")) == 1, what="the released copy")
        # a second release finds nothing: one copy only
        await berlin.command("b1", "release", reply_to=notice.id, who="mod", admin=True)
        await settled(net, "b1")
        assert len(copies("b1", "Tlalpan")) == 1

        # the next one is dropped: it never arrives, and nothing of it stays in Redis
        await cdmx.post("a1", "Otro desalojo en Iztapalapa", name="Ana")
        await eventually(lambda: len(held_notices("b1")) == 2, what="the second held notice")
        await committed(net)
        second = [m for m in net.seen_in("b1") if m.text in held_notices("b1")][-1]
        await berlin.command("b1", "drop", reply_to=second.id, who="mod", admin=True)
        await settled(net, "b1")
        assert not copies("b1", "Iztapalapa")
        assert not [k async for k in redis_client.scan_iter(keys.filter_hold("*"))]
        assert len(copies("c1", "Iztapalapa")) == 1

        # removed: the word crosses again
        await berlin.command("b1", "filter", "remove Desalojo", who="mod", admin=True)
        await settled(net, "b1")
        await cdmx.post("a1", "Desalojo evitado en Coyoacán", name="Ana")
        await eventually(lambda: len(copies("b1", "Coyoacán")) == 1, what="crosses again")

    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert ("memory:jonas", "filter", "refused") in trail
    assert ("memory:jonas", "release", "refused") in trail
    assert ("memory:mod", "release", "refused") in trail  # CDMX's moderator, not Berlin's
    assert ("memory:mod", "release", "done") in trail
    assert ("memory:mod", "drop", "done") in trail


async def test_a_pattern_that_does_not_compile_is_refused_with_its_position(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await net.bot("c").command("c1", "filter", "add /(evict/", who="mod", admin=True)
        await eventually(lambda: any("position 7" in a for a in answers("c1")), what="refusal")
        await net.bot("c").command("c1", "filter", "list", who="mod", admin=True)
        await eventually(lambda: any("no word filters" in a for a in answers("c1")))
    assert not await redis_client.smembers(keys.FILTERS)


def test_a_pattern_in_the_config_that_does_not_compile_names_its_key(tmp_path: Path) -> None:
    rooms = [dict(r) for r in ROOMS]
    rooms[1]["filter"] = ["ok", "/(a+/"]
    cfg = {"redis": {"url": "redis://127.0.0.1:1"}, "bots": [{"id": b, "platform": "memory"}
           for b in "abc"], "rooms": rooms,
           "circles": [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"]}]}  # fmt: skip
    with pytest.raises(Exception, match=r"rooms\[1\]\.filter.*position") as caught:
        load_config(write_config(tmp_path / "bad.yaml", cfg), env={})
    assert "Traceback" not in str(caught.value)


def test_a_word_matches_whole_and_ignores_case() -> None:
    pattern = compile_term("rata")
    assert pattern.search("¡Qué RATA!")
    assert not pattern.search("pirata")
    with pytest.raises(TermError):
        compile_term("x" * 500)


async def test_a_catastrophic_pattern_holds_that_copy_and_does_not_stall_the_relay(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    rooms = [dict(r) for r in ROOMS]
    rooms[1]["filter"] = ["/(a+)+$/"]  # exponential on "aaaa…b"
    cfg = memory_config(tmp_path, redis_url, rooms=rooms)
    async with running(cfg) as (_, net):
        await net.bot("a").post("a1", "a" * 5000 + "!", name="Ana")
        for n in range(20):  # the relay goes on with what follows, in order
            await net.bot("a").post("a1", f"mensaje número {n}", name="Ana")
        await eventually(lambda: len(copies("b1", "mensaje número 19")) == 1, what="the rest")
        assert len(held_notices("b1")) == 1  # out of time: held for a moderator, not crossed
        assert len(copies("c1", "aaaa")) == 1  # NYC has no filter


async def test_a_retract_purges_a_held_copy_and_a_later_release_finds_nothing(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    rooms = [dict(r) for r in ROOMS]
    rooms[1]["filter"] = ["dirección"]
    async with running(memory_config(tmp_path, redis_url, rooms=rooms)) as (_, net):
        cdmx, berlin = net.bot("a"), net.bot("b")
        secret = await cdmx.post("a1", "Mi dirección secreta", name="Ana")
        await eventually(lambda: len(held_notices("b1")) == 1, what="held in Berlin")
        notice = next(m for m in net.seen_in("b1") if m.text in held_notices("b1"))
        assert [k async for k in redis_client.scan_iter(keys.filter_hold("*"))]
        await cdmx.command("a1", "retract", reply_to=secret, who="ana")
        await eventually(lambda: copies("c1", "secreta") == [], what="retracted in NYC")
        assert not [k async for k in redis_client.scan_iter(keys.filter_hold("*"))]
        await berlin.command("b1", "release", reply_to=notice.id, who="mod", admin=True)
        await eventually(lambda: any("schon durchgelassen" in a for a in answers("b1")))
        await settled(net, "b1")
        assert not copies("b1", "secreta")


def test_a_room_takes_at_most_max_filters_terms(tmp_path: Path) -> None:
    rooms = [dict(r) for r in ROOMS]
    rooms[1]["filter"] = [f"word{n}" for n in range(MAX_FILTERS + 1)]
    cfg = {"redis": {"url": "redis://127.0.0.1:1"}, "bots": [{"id": b, "platform": "memory"}
           for b in "abc"], "rooms": rooms,
           "circles": [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"]}]}  # fmt: skip
    with pytest.raises(Exception, match=r"rooms\[1\]\.filter"):
        load_config(write_config(tmp_path / "many.yaml", cfg), env={})


async def test_a_moderator_cannot_add_a_filter_past_the_limit(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    """Every term is tried on every copy into the room: their number is bounded."""
    rooms = [dict(r) for r in ROOMS]
    rooms[2]["filter"] = [f"word{n}" for n in range(MAX_FILTERS)]
    async with running(memory_config(tmp_path, redis_url, rooms=rooms)) as (_, net):
        await net.bot("c").command("c1", "filter", "add one-more", who="mod", admin=True)
        await eventually(lambda: any(str(MAX_FILTERS) in a for a in answers("c1")), what="no")
    assert not await redis_client.smembers(keys.FILTERS)
