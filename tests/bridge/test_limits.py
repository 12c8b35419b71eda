"""Limits on one member and one room: a flood is held after the limit, the moderators are
told once (without the text), and everyone else's messages still cross."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from bridge.app import App
from bridge.config.models import LimitsConfig
from bridge.relay.limits import Held, Limits
from tests.harness import eventually, memory_config, running
from tests.memory_bot import MemoryNetwork


def freeze(app: App, at: float = 1000.0) -> None:
    """The relay's buckets see a clock that does not move: the test decides what a minute is."""
    assert app.relay is not None
    app.relay.router.limits.clock = lambda: at


def copies_in(net: MemoryNetwork, chat: str, word: str) -> list[str]:
    return [m.text for m in net.seen_in(chat) if not m.notice and word in m.text]


def notices_in(net: MemoryNetwork, chat: str) -> list[str]:
    return [m.text for m in net.seen_in(chat) if m.notice]


async def test_a_flood_from_one_member_is_held_after_the_limit_with_one_notice(
    tmp_path: Path, redis_url: str, redis_client: Redis
) -> None:
    defaults = {"per_sender_per_minute": 20, "per_room_per_minute": 60}  # the config's
    async with running(memory_config(tmp_path, redis_url, limits=defaults)) as (app, net):
        freeze(app)
        for i in range(30):  # the default: 20 a minute from one member
            await net.bot("a").post("a1", f"flood {i} secreto", who="troll", name="Troll")
        await net.bot("a").post("a1", "asamblea hoy", who="ana", name="Ana")
        # Ana wrote after the flood: once her message is in both rooms, so is what crossed of it
        await eventually(
            lambda: bool(copies_in(net, "b1", "asamblea") and copies_in(net, "c1", "asamblea")),
            what="Ana's message",
        )
        await eventually(lambda: bool(notices_in(net, "a1")), what="the moderators' notice")
        assert len(copies_in(net, "b1", "flood")) == 20
        assert len(copies_in(net, "c1", "flood")) == 20
        told = notices_in(net, "a1")
        assert len(told) == 1, told
        assert "Troll" in told[0]
        assert "secreto" not in told[0]
        assert not notices_in(net, "b1")  # the other rooms hear nothing of it


async def test_a_room_over_its_limit_is_held_whoever_writes(
    tmp_path: Path, redis_url: str, redis_client: Redis
) -> None:
    limits = {"per_sender_per_minute": 100, "per_room_per_minute": 5}
    async with running(memory_config(tmp_path, redis_url, limits=limits)) as (app, net):
        freeze(app)
        for who in ("ana", "bea", "carla"):
            for i in range(3):
                await net.bot("a").post("a1", f"msg {who} {i}", who=who, name=who)
        await net.bot("b").post("b1", "hallo aus Berlin", who="dora", name="Dora")
        await eventually(lambda: bool(copies_in(net, "a1", "Berlin")), what="Berlin's message")
        await eventually(lambda: len(notices_in(net, "a1")) == 1, what="one notice")
        await eventually(lambda: len(copies_in(net, "c1", "msg")) == 5, what="five copies")
        await eventually(lambda: len(copies_in(net, "b1", "msg")) == 5, what="five copies")
        assert len(notices_in(net, "a1")) == 1


def test_a_quiet_minute_ends_the_burst_and_the_next_one_is_told_again() -> None:
    now = [0.0]
    limits = Limits(LimitsConfig(per_sender_per_minute=2, per_room_per_minute=10), lambda: now[0])
    assert limits.admit("r", "troll") is None
    assert limits.admit("r", "troll") is None
    first = limits.admit("r", "troll")
    assert first == Held("sender", 2, notify=True)
    assert limits.admit("r", "troll") == Held("sender", 2, notify=False)  # one notice a burst
    assert limits.admit("r", "ana") is None  # another member still crosses
    now[0] += 30.0  # half a minute: one token back, the burst goes on
    assert limits.admit("r", "troll") is None
    assert limits.admit("r", "troll") == Held("sender", 2, notify=False)
    now[0] += 60.0  # a quiet minute
    assert limits.admit("r", "troll") is None
    assert limits.admit("r", "troll") is None
    assert limits.admit("r", "troll") == Held("sender", 2, notify=True)
