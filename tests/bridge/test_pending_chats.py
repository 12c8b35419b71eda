"""``PendingChats.sweep``, the one loop by which every adapter leaves the chats nobody linked in
time: on real Redis, with an injected clock and the adapter's ``leave`` a recording stand-in."""

from __future__ import annotations

import asyncio

import redis.asyncio

from bridge.model.links import PendingChats
from tests.harness import LinksClock, eventually


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel until it ends: redis-py can lose a cancellation that lands inside a command."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)


async def test_only_the_chats_whose_window_passed_are_left_each_once(
    redis_client: redis.asyncio.Redis,
) -> None:
    clock = LinksClock()
    chats = PendingChats(redis_client, "tg", clock, window_s=60)
    await chats.add("-100", "telegram:1")
    clock.now += 30
    await chats.add("-200", "telegram:2")  # its window passes 30 s later than -100's
    clock.now += 31
    left: list[str] = []
    failures: list[Exception] = []

    async def leave(chat: str) -> None:
        left.append(chat)

    sweeping = asyncio.create_task(chats.sweep(leave, 0.01, failures.append))
    try:
        await eventually(lambda: left == ["-100"], what="-100 left")
        assert not await chats.waiting("-100")
        assert await chats.waiting("-200")
        clock.now += 30
        await eventually(lambda: left == ["-100", "-200"], what="-200 left")
    finally:
        await stop(sweeping)
    assert failures == []
    assert await redis_client.zcard("tl:pending:tg") == 0


async def test_a_round_that_fails_is_reported_and_the_next_round_leaves_the_chat(
    redis_client: redis.asyncio.Redis,
) -> None:
    """The network away while leaving: the sweep says so and goes on; the chat still waits
    to be left, and is, once the platform answers again."""
    clock = LinksClock()
    chats = PendingChats(redis_client, "mx", clock, window_s=60)
    await chats.add("!porto:localhost", "@rui:porto.example", "porto.example")
    clock.now += 61
    calls: list[str] = []
    failures: list[Exception] = []

    async def leave(chat: str) -> None:
        calls.append(chat)
        if len(calls) == 1:
            raise ConnectionResetError("the homeserver went away")

    sweeping = asyncio.create_task(chats.sweep(leave, 0.01, failures.append))
    try:
        await eventually(lambda: len(calls) == 2, what="a second round")
        await eventually(lambda: not sweeping.done() and len(failures) == 1)
    finally:
        await stop(sweeping)
    assert [type(e) for e in failures] == [ConnectionResetError]
    assert await redis_client.zcard("tl:pending:mx") == 0


async def test_one_user_keeps_three_chats_waiting_and_cannot_fill_the_bots_places(
    redis_client: redis.asyncio.Redis,
) -> None:
    """An attacker adding the bot to rooms of her own, again and again, would hold every
    place and block real links; her fourth chat is left at once, others still get places."""
    clock = LinksClock()
    chats = PendingChats(redis_client, "tg", clock, window_s=60, limit=5)
    assert [await chats.add(f"-{n}", "telegram:666") for n in range(4)] == [True] * 3 + [False]
    assert await chats.add("-1", "telegram:666")  # already waiting: it keeps its window
    assert await chats.add("-10", "telegram:7")  # another user: a place
    assert await chats.add("-11", "telegram:8")
    assert not await chats.add("-12", "telegram:9")  # the bot's own limit still holds
    await chats.done("-0")  # linked, or left: her place is free again
    assert await chats.add("-4", "telegram:666")
    assert not await chats.waiting("-3")
    stored = str(await redis_client.hgetall("tl:pending:tg:by"))
    assert "666" not in stored.replace(chats.by_key, "")  # who added it: a digest only


async def test_one_homeserver_keeps_five_rooms_waiting_whatever_its_accounts(
    redis_client: redis.asyncio.Redis,
) -> None:
    """Whoever runs a homeserver has as many accounts as she likes: her server's users keep
    five rooms waiting at most; another server's still get places."""
    chats = PendingChats(redis_client, "mx", LinksClock(), window_s=60)
    evil = [await chats.add(f"!r{n}:evil.example", f"@a{n}:evil.example", "evil.example")
            for n in range(6)]  # fmt: skip
    assert evil == [True] * 5 + [False]
    assert await chats.add("!porto:porto.example", "@rui:porto.example", "porto.example")
    await chats.done("!r0:evil.example")
    assert await chats.add("!r6:evil.example", "@a6:evil.example", "evil.example")


async def test_without_a_cap_per_server_only_the_users_and_the_bots_hold(
    redis_client: redis.asyncio.Redis,
) -> None:
    """``link.per_server: 0``, for a network whose cities share one big homeserver."""
    chats = PendingChats(redis_client, "mx", LinksClock(), window_s=60, per_server=0)
    added = [await chats.add(f"!r{n}:matrix.org", f"@a{n}:matrix.org", "matrix.org")
             for n in range(8)]  # fmt: skip
    assert added == [True] * 8
