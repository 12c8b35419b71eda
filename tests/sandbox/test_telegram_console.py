"""The sandbox Telegram's operator side (its `Console`), driven over HTTP: flood limits and
their 429s, injected and random faults that never act, the /_sandbox/ control API, and the
record of state-changing calls."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest
from telegram import Bot, LinkPreviewOptions, MessageEntity
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from sandbox.telegram import BotApiServer
from sandbox.telegram.limits import RateLimiter
from tests.sandbox.telegram_world import ANA, BEN, CHAT, TOKEN, setup_world, take, tg_bot


async def test_flooding_one_chat_gets_429_with_integer_retry_after() -> None:
    async with BotApiServer(limits=True, scale=0.02) as server:
        setup_world(server)
        async with tg_bot(server) as bot:

            async def flood() -> None:
                for n in range(40):
                    await bot.send_message(CHAT, f"spam {n}")

            with pytest.raises(RetryAfter) as refused:
                await flood()
            wait = refused.value.retry_after
            assert not isinstance(wait, int)
            assert wait.total_seconds() >= 1
            assert wait.total_seconds() == int(wait.total_seconds())
            assert server.too_many[(123456, CHAT)] == 1
            assert server.refusals[0].rule == "chat"
        async with httpx.AsyncClient() as client:
            bodies = [
                (
                    await client.post(
                        f"{server.url}/bot{TOKEN}/sendMessage",
                        data={"chat_id": str(CHAT), "text": "burst"},
                    )
                ).json()
                for _ in range(8)
            ]
        refusal = next(b for b in bodies if not b["ok"])
        retry = refusal["parameters"]["retry_after"]
        assert isinstance(retry, int)
        assert retry >= 1
        assert refusal["error_code"] == 429
        assert refusal["description"] == f"Too Many Requests: retry after {retry}"


async def test_pacing_under_the_limits_gets_no_429() -> None:
    async with BotApiServer(limits=True, scale=0.02) as server:  # 1 s -> 20 ms, 60 s -> 1.2 s
        setup_world(server)
        async with tg_bot(server) as bot:
            for n in range(15):  # 15 in ~1.2 s: under 20 a (scaled) minute and 1 a second
                await bot.send_message(CHAT, f"paced {n}")
                await asyncio.sleep(0.08)
        assert sum(server.too_many.values()) == 0
        sends = [c for c in server.calls if c.method == "sendMessage"]
        assert len(sends) == 15
        assert len({c.message_id for c in sends}) == 15
        assert all(b.monotonic - a.monotonic >= 0.08 for a, b in itertools.pairwise(sends))


async def test_injected_server_errors_do_not_act(server: BotApiServer, bot: Bot) -> None:
    server.inject("sendMessage", status=500)
    server.inject("sendmessage", status=502)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(CHAT, "first try")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(CHAT, "second try")
    await bot.send_message(CHAT, "third try")
    assert [m["text"] for m in server.messages(CHAT)] == ["third try"]
    assert server.fault_counts[("500", "sendmessage")] == 1
    assert server.fault_counts[("502", "sendmessage")] == 1
    assert [c.method for c in server.calls] == ["sendMessage"]


async def test_timeout_before_acting_creates_nothing(server: BotApiServer) -> None:
    server.faults(p_timeout=1.0, timeout_s=0.6, methods=["sendMessage"])
    async with tg_bot(server, read_timeout=0.2) as impatient:
        with pytest.raises(TimedOut):
            await impatient.send_message(CHAT, "are you there?")
        await asyncio.sleep(0.6)  # the hold is over: still nothing was done
        assert server.messages(CHAT) == []
        assert server.calls == []
        assert server.fault_counts[("timeout", "sendmessage")] == 1
        server.faults()  # off again
        await impatient.send_message(CHAT, "now?")
    assert [m["text"] for m in server.messages(CHAT)] == ["now?"]


async def test_random_faults_are_seeded_and_counted(server: BotApiServer, bot: Bot) -> None:
    server.faults(p_5xx=0.3, p_429=0.2, seed=7, methods=["sendMessage"])
    outcomes = []
    for n in range(20):
        try:
            await bot.send_message(CHAT, f"m{n}")
            outcomes.append("ok")
        except RetryAfter:
            outcomes.append("429")
        except NetworkError:
            outcomes.append("5xx")
    assert {"ok", "429", "5xx"} <= set(outcomes)
    assert len(server.messages(CHAT)) == outcomes.count("ok")
    assert sum(server.fault_counts.values()) == 20 - outcomes.count("ok")


async def test_control_api_over_http(server: BotApiServer, bot: Bot) -> None:
    async with httpx.AsyncClient(base_url=f"{server.url}/_sandbox") as client:
        made = await client.post(
            "/chats", json={"chat_id": -1009, "title": "NYC", "is_forum": True}
        )
        assert made.json()["result"]["is_forum"] is True
        await client.post("/users", json={"user_id": 21, "first_name": "Cy"})
        await client.post("/chats/-1009/members", json={"member_id": 21, "owner": True})
        await client.post("/chats/-1009/members", json={"member_id": 123456, "admin": True})
        topic = (await client.post("/chats/-1009/topics", json={"name": "Plans"})).json()
        posted = await client.post(
            "/chats/-1009/messages",
            json={"user_id": 21, "text": "hi @relay_bot", "thread_id": topic["result"]},
        )
        message_id = posted.json()["result"]["message_id"]
        await client.post(f"/chats/-1009/messages/{message_id}/edit", json={"text": "hi all"})
        shown = (await client.get("/chats/-1009/messages")).json()["result"]
        assert [(m["text"], m["thread_id"]) for m in shown] == [("hi all", topic["result"])]
        missing = await client.post("/chats/-5/messages", json={"user_id": 21, "text": "x"})
        assert missing.status_code == 400
        assert missing.json()["ok"] is False
        await client.post("/clock", json={"advance": 60})
        stats = (await client.get("/stats")).json()["result"]
        assert stats["clock"] == 60
    got = await take(bot)
    kinds = [
        next(k for k in ("my_chat_member", "message", "edited_message") if getattr(u, k))
        for u in got
    ]
    assert kinds == ["my_chat_member", "message", "message", "message", "edited_message"]
    mention = got[3].message
    assert mention is not None
    assert mention.entities == (MessageEntity("mention", 3, 10),)


async def test_calls_record_state_changes_in_order(server: BotApiServer, bot: Bot) -> None:
    first = await bot.send_message(CHAT, "one")
    await bot.edit_message_text("uno", chat_id=CHAT, message_id=first.message_id)
    await bot.get_chat(CHAT)  # reads are not recorded
    await bot.delete_message(CHAT, first.message_id)
    assert [(c.method, c.chat_id, c.message_id) for c in server.calls] == [
        ("sendMessage", CHAT, first.message_id),
        ("editMessageText", CHAT, first.message_id),
        ("deleteMessage", CHAT, first.message_id),
    ]
    admins = await bot.get_chat_administrators(CHAT)
    assert [a.user.id for a in admins] == [ANA]  # bots are left out, as documented
    member = await bot.get_chat_member(CHAT, BEN)
    assert member.status == "member"

    notice = await bot.send_message(
        CHAT, "see https://example.org", link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
    assert notice.link_preview_options == LinkPreviewOptions(is_disabled=True)
    assert notice.entities == (MessageEntity("url", 4, 19),)
    with pytest.raises(BadRequest, match=r"(?i)not enough rights to manage pinned messages"):
        await bot.pin_chat_message(CHAT, notice.message_id)
    server.add_member(CHAT, 123456, admin=True, announce=False)
    assert await bot.pin_chat_message(CHAT, notice.message_id) is True
    chat = await bot.get_chat(CHAT)
    assert chat.pinned_message is not None
    assert chat.pinned_message.message_id == notice.message_id
    shown = server.messages(CHAT, service=True)
    assert shown[-1]["service"] == "pinned_message"
    assert [c.method for c in server.calls][-2:] == ["sendMessage", "pinChatMessage"]


def test_limits_per_group_minute_and_per_bot_second() -> None:
    limiter = RateLimiter(scale=1.0)
    # 20 a minute in one group, even when paced at the per-chat rate
    results = [limiter.check(1, -100, group=True, now=float(t)) for t in range(21)]
    assert results[:20] == [0] * 20
    assert results[20] == 40  # the oldest of the 20 leaves the window at t=60
    assert limiter.refusals[-1].rule == "group"
    # 30 a second over all chats
    spread = [limiter.check(2, -(200 + n), group=True, now=1000.0) for n in range(31)]
    assert spread[:30] == [0] * 30
    assert spread[30] == 1
    assert limiter.refusals[-1].rule == "bot"
    assert limiter.too_many == {(1, -100): 1, (2, -230): 1}
    # the same rules with a scale: windows shrink, retry_after stays whole real seconds
    fast = RateLimiter(scale=0.05)
    assert [fast.check(3, -1, group=True, now=0.0) for _ in range(4)] == [0, 0, 0, 1]
    assert fast.refusals[-1].wait == pytest.approx(0.05)
    assert fast.check(3, -1, group=True, now=0.05) == 0
