"""The relay core end to end over the real embedded Redis, with in-memory bots."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import redis.asyncio

from bridge.app import build_router
from bridge.infra.bus import Inbox
from bridge.model import keys
from bridge.model.envelope import Envelope, MsgRef, Sender
from bridge.relay.maps import MapReader
from bridge.relay.worker import RelayWorker
from tests.harness import eventually, eventually_async, memory_config, running
from tests.memory_bot import NETWORK, PermanentFailure, RetryLater


async def settle(chats: dict[str, str]) -> None:
    """Post a sentinel from each given bot's chat and wait until each has crossed everywhere:
    what those chats emitted before (echoes included) has then been relayed."""
    marks = []
    for bot, chat in chats.items():
        mark = f"sentinel-{uuid.uuid4().hex[:8]}"
        await NETWORK.bot(bot).post(chat, mark, who="sentinel", name="S")
        marks.append((chat, mark))
    others = {"a1", "b1", "c1"}
    for chat, mark in marks:
        await eventually(
            lambda chat=chat, mark=mark: all(
                any(mark in m.text for m in NETWORK.seen_in(o)) for o in others - {chat}
            ),
            what=f"sentinel from {chat}",
        )


async def test_a_message_arrives_in_the_other_rooms_attributed(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await net.bot("a").post("a1", "Bloqueo mañana a las 7", name="Ana")
        await eventually(lambda: len(net.seen_in("b1")) == 1 and len(net.seen_in("c1")) == 1)
        # no translation provider is configured: it crosses in the original, with a note
        # each note in its room's language, naming the source language in it
        expected = "Ana (CDMX): Bloqueo mañana a las 7 · nicht übersetzt (aus dem Spanischen)"
        assert [m.text for m in net.seen_in("b1")] == [expected]
        expected = "Ana (CDMX): Bloqueo mañana a las 7 · not translated (from Spanish)"
        assert [m.text for m in net.seen_in("c1")] == [expected]
        await settle({"a": "a1", "b": "b1", "c": "c1"})
        # our own copies never came back: exactly one copy per target, nothing back in CDMX
        ana = [d for d in net.log if "Bloqueo" in d.text]
        assert sorted(d.chat for d in ana) == ["b1", "c1"]
        assert [m.text for m in net.seen_in("a1") if "Bloqueo" in m.text] == [
            "Bloqueo mañana a las 7"
        ]


async def test_replies_edits_and_deletes_follow_through_the_message_map(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        original = await net.bot("a").post("a1", "Asamblea el viernes", name="Ana")
        await eventually(lambda: len(net.seen_in("b1")) == 1 and len(net.seen_in("c1")) == 1)
        copy_b = net.seen_in("b1")[0].id
        copy_c = net.seen_in("c1")[0].id

        # a Berlin member replies to the copy in Berlin
        reply = await net.bot("b").post("b1", "Wir kommen", name="Jonas", reply_to=copy_b)
        await eventually(lambda: len(net.seen_in("a1")) == 2 and len(net.seen_in("c1")) == 2)
        in_cdmx = net.seen_in("a1")[1]
        in_nyc = net.seen_in("c1")[1]
        assert in_cdmx.text == "Jonas (Berlin): Wir kommen · sin traducir (del alemán)"
        assert in_cdmx.reply_to == original  # a reply to Ana's own message
        assert in_nyc.reply_to == copy_c  # a reply to NYC's copy of it

        # a reply to the reply, from NYC, threads correctly everywhere
        await net.bot("c").post("c1", "Count us in", name="Maya", reply_to=in_nyc.id)
        await eventually(lambda: len(net.seen_in("a1")) == 3 and len(net.seen_in("b1")) == 3)
        assert net.seen_in("b1")[2].reply_to == reply
        assert net.seen_in("a1")[2].reply_to == in_cdmx.id

        # Ana fixes the date: every copy is edited
        await net.bot("a").edit("a1", original, "Asamblea el sábado")
        await eventually(
            lambda: (
                "sábado" in net.chats["b1"][copy_b].text
                and "sábado" in net.chats["c1"][copy_c].text
            )
        )
        assert net.chats["b1"][copy_b].text.startswith("Ana (CDMX): Asamblea el sábado")

        # Ana deletes it: every copy is deleted, the replies stay
        await net.bot("a").delete("a1", original)
        await eventually(
            lambda: net.chats["b1"][copy_b].deleted and net.chats["c1"][copy_c].deleted
        )
        assert len(net.seen_in("b1")) == 2

        async def unmapped() -> bool:  # recorded just after the platform's answer
            return await MapReader(redis_client).copy_of("berlin", copy_b) is None

        await eventually_async(unmapped)


async def test_a_re_ingested_event_makes_no_second_copy(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    """An adapter that crashed before confirming an update to its platform takes the same
    event in again after a restart: the same envelope key reaches the inbox twice."""
    async with running(memory_config(tmp_path, redis_url)) as (app, net):
        bot = net.bot("a")
        await bot.post("a1", "una sola vez")
        again = Envelope(
            key="mem:a:a1:1",
            kind="message",
            bot="a",
            chat="a1",
            message_id="1",
            sender=Sender(id="memory:ana", name="Ana"),
            text="una sola vez",
        )
        await Inbox(app.redis.client, 4).publish(again)  # type: ignore[union-attr]
        await settle({"a": "a1"})
        assert sorted(d.chat for d in net.log if "una sola vez" in d.text) == ["b1", "c1"]


async def test_an_unconfigured_chat_is_ignored(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await net.bot("a").post("stranger-chat", "let me read your threads")
        await net.bot("b").post("b9", "another chat of a configured bot")
        await settle({"a": "a1", "b": "b1"})
        assert not [d for d in net.log if "threads" in d.text or "another chat" in d.text]


async def test_moderated_circles_let_nothing_cross_until_moderation_lands(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with running(memory_config(tmp_path, redis_url, relay="moderated")) as (_, net):
        sent = [await net.bot("a").post("a1", "solo para nosotros")]
        sent.append(await net.bot("a").post("a1", "marker"))
        maps = MapReader(redis_client)

        # the origin records are kept (ids only), so that a later share can find the thread
        async def both_recorded() -> bool:
            found = [await maps.record(MsgRef(room="cdmx", id=i)) for i in sent]
            return all(".sender" in record for record in found)

        await eventually_async(both_recorded)
        assert await redis_client.xlen(keys.outbox("b")) == 0
        assert net.log == []


async def test_receive_false_and_send_false(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    rooms = [
        {"id": "cdmx", "bot": "a", "chat": "a1", "language": "es", "label": "CDMX", "send": False},
        {"id": "berlin", "bot": "b", "chat": "b1", "language": "de", "label": "Berlin"},
        {"id": "nyc", "bot": "c", "chat": "c1", "language": "en", "label": "NYC", "receive": False},
    ]
    async with running(memory_config(tmp_path, redis_url, rooms=rooms)) as (_, net):
        await net.bot("a").post("a1", "from a receive-only room")
        await net.bot("b").post("b1", "from Berlin")
        await eventually(lambda: any("from Berlin" in m.text for m in net.seen_in("a1")))
        await net.bot("c").post("c1", "from a send-only room")
        await eventually(lambda: any("send-only" in m.text for m in net.seen_in("b1")))
        assert not any("Berlin" in m.text for m in net.seen_in("c1"))
        assert not any("receive-only" in d.text for d in net.log)


async def test_a_failing_delivery_is_dead_lettered_and_the_operator_told(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    loaded = memory_config(tmp_path, redis_url, ops_room="nyc")
    async with running(loaded) as (app, net):
        net.bot("b").faults = [RetryLater(0.05, "429"), PermanentFailure("bot was kicked")]
        await net.bot("a").post("a1", "uno", name="Ana")
        await eventually(lambda: any("could not deliver" in m.text for m in net.seen_in("c1")))
        notice = next(m.text for m in net.seen_in("c1") if "could not deliver" in m.text)
        assert "from CDMX to Berlin: bot was kicked" in notice
        assert "uno" not in notice
        dead = await redis_client.xrange(keys.DEAD_LETTERS)
        assert len(dead) == 1
        assert dead[0][1]["reason"] == "bot was kicked"
        # nothing stalls behind it
        await net.bot("a").post("a1", "dos", name="Ana")
        await eventually(lambda: any("(CDMX): dos" in m.text for m in net.seen_in("b1")))
        assert app.deliverers["b"].retries == 1


async def test_order_per_origin_room_across_1000_messages_with_two_workers(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    loaded = memory_config(tmp_path, redis_url, shards=8)
    async with running(loaded, role="bots") as (app, net):
        assert app.redis is not None
        r = app.redis.client
        router = build_router(loaded.config, r)
        workers = [
            RelayWorker(r, router, shards=8, map_ttl_s=3600, lease_ms=1000, name=f"w{i}")
            for i in range(2)
        ]
        stop = asyncio.Event()
        tasks = [asyncio.create_task(w.run(stop)) for w in workers]
        try:
            for i in range(500):
                await net.bot("a").post("a1", f"a-{i}")
                await net.bot("b").post("b1", f"b-{i}")
            await eventually(lambda: len(net.sends_to("c1")) >= 1000, timeout=60)
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        seen = [d.body for d in net.sends_to("c1")]
        assert [t for t in seen if t.startswith("a-")] == [f"a-{i}" for i in range(500)]
        assert [t for t in seen if t.startswith("b-")] == [f"b-{i}" for i in range(500)]
        assert all(w.processed > 0 for w in workers), [w.processed for w in workers]


async def test_no_message_body_rests_in_redis_after_a_run(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    secret = f"home address {uuid.uuid4().hex}"
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        first = await net.bot("a").post("a1", secret)
        await net.bot("b").post("b1", f"re: {secret}", reply_to=first)
        await net.bot("a").edit("a1", first, f"{secret} (edited)")
        await eventually(lambda: len(net.sends_to("c1")) == 2)
        await eventually(lambda: any(d.action == "edit" for d in net.log if d.chat == "c1"))
        await settle({"a": "a1", "b": "b1", "c": "c1"})
    needle = secret.split()[-1]
    for key in await redis_client.keys("*"):
        kind = await redis_client.type(key)
        if kind == "string":
            values = [await redis_client.get(key)]
        elif kind == "hash":
            values = list((await redis_client.hgetall(key)).values())
        elif kind == "stream":
            values = [json.dumps(f) for _, f in await redis_client.xrange(key)]
        elif kind == "zset":
            values = await redis_client.zrange(key, 0, -1)
        else:
            values = [kind]
        assert not any(needle in str(v) for v in values), key
        if key.startswith(keys.MAP):
            assert await redis_client.ttl(key) > 0, key  # the map expires
