"""Reaction counts on copies (``carry_reactions: true``), through the whole bridge (relay,
deliverers, the edit loop on a clock the test moves, in-memory bots): a copy ends with "✊ 3"
once members react, edited at most once a minute however many react; never who; nothing
counted or stored where it must not be; a retract purges the kept copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio

from bridge.app import App
from bridge.callouts.clock import ManualClock
from bridge.config.load import LoadedConfig
from bridge.model import keys
from bridge.model.envelope import Envelope, MsgRef, Sender
from bridge.relay import reactions
from tests.harness import committed, eventually, eventually_async, memory_config
from tests.memory_bot import NETWORK, Delivered

START = datetime(2030, 5, 1, 18, tzinfo=UTC)
_events = itertools.count()
BOT = {"a1": "a", "b1": "b", "c1": "c"}


def config(tmp_path: Path, redis_url: str, *, carry: bool = True, **extra: Any) -> LoadedConfig:
    circles = [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": "all",
                "carry_reactions": carry}]  # fmt: skip
    return memory_config(tmp_path, redis_url, circles=circles, **extra)


@contextlib.asynccontextmanager
async def bridge(loaded: LoadedConfig, clock: ManualClock) -> AsyncIterator[App]:
    app = App(loaded, lease_ms=1000)
    app.callout_clock = clock
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(app.run(stop, ready))
    await asyncio.wait_for(ready.wait(), 20)
    try:
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def react(chat: str, message_id: str, emoji: str, who: str, **extra: Any) -> None:
    envelope = Envelope(
        key=f"t:{chat}:{message_id}:{who}:{next(_events)}", kind="reaction", bot=BOT[chat],
        chat=chat, message_id=message_id, sender=Sender(id=who, name=who), reaction=emoji,
        **extra,
    )  # fmt: skip
    await NETWORK.bot(BOT[chat]).ctx.emit(envelope)


async def posted(text: str) -> tuple[str, str, str]:
    """Ana posts in CDMX; the ids of the origin and of its copies in Berlin and NYC."""
    origin = await NETWORK.bot("a").post("a1", text)
    await eventually(lambda: bool(NETWORK.sends_to("b1")) and bool(NETWORK.sends_to("c1")),
                     what="the copies")  # fmt: skip
    await committed()  # in the map (and kept), so that reactions on them find them
    return origin, NETWORK.sends_to("b1")[-1].ids[0], NETWORK.sends_to("c1")[-1].ids[0]


def edits(chat: str) -> list[Delivered]:
    return [d for d in NETWORK.log if d.chat == chat and d.action == "edit"]


def seen(chat: str, message_id: str) -> str:
    return NETWORK.chats[chat][message_id].text


async def counted(r: redis.asyncio.Redis, origin: MsgRef, expected: dict[str, int]) -> None:
    async def check() -> bool:
        return await reactions.counts(r, origin) == expected

    await eventually_async(check, what=f"counts {expected}")


async def test_reactions_on_the_origin_and_copies_show_as_one_count_line(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    clock = ManualClock(START)
    async with bridge(config(tmp_path, redis_url), clock):
        origin, berlin, nyc = await posted("Blockade tomorrow at 7")
        ref = MsgRef(room="cdmx", id=origin)
        await react("a1", origin, "✊", "memory:ana2")
        await react("b1", berlin, "✊", "memory:jonas")
        await react("c1", nyc, "❤️", "memory:sam")
        await react("b1", berlin, "🕊", "memory:mod")  # the share reaction: not counted
        await counted(redis_client, ref, {"✊": 2, "❤️": 1})
        clock.advance(timedelta(seconds=61))
        await eventually(lambda: "✊ 2 · ❤️ 1" in seen("b1", berlin), what="Berlin's line")
        await eventually(lambda: "✊ 2 · ❤️ 1" in seen("c1", nyc), what="NYC's line")
        assert "Blockade tomorrow at 7" in seen("b1", berlin)  # the copy's text is all there
        # taken back (Telegram's empty reaction): the count goes down
        await react("b1", berlin, "", "memory:jonas")
        await counted(redis_client, ref, {"✊": 1, "❤️": 1})
        clock.advance(timedelta(seconds=61))
        await eventually(lambda: "✊ 1 · ❤️ 1" in seen("b1", berlin), what="one less")
    for key in await redis_client.keys("tl:rx:*"):
        kind = await redis_client.type(key)
        dumped = str(await redis_client.hgetall(key)) if kind == "hash" else ""
        for who in ("ana2", "jonas", "sam"):
            assert who not in dumped, key


async def test_a_storm_of_500_reactions_costs_one_edit_per_copy_a_minute(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    clock = ManualClock(START)
    async with bridge(config(tmp_path, redis_url), clock):
        origin, berlin, nyc = await posted("Assembly tonight")
        ref = MsgRef(room="cdmx", id=origin)
        for n in range(300):
            await react("b1", berlin, "✊", f"memory:b{n}")
        for n in range(200):
            await react("c1", nyc, "❤", f"memory:n{n}")
        await counted(redis_client, ref, {"✊": 300, "❤": 200})
        assert len(edits("b1")) <= 1  # the clock has not moved: one edit at most
        assert len(edits("c1")) <= 1
        clock.advance(timedelta(seconds=61))
        await eventually(lambda: "✊ 300 · ❤ 200" in seen("b1", berlin), what="final")
        await eventually(lambda: "✊ 300 · ❤ 200" in seen("c1", nyc), what="final NYC")
    assert len(edits("b1")) <= 2
    assert len(edits("c1")) <= 2


async def test_nothing_is_counted_or_kept_in_a_circle_without_carry_reactions(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    clock = ManualClock(START)
    async with bridge(config(tmp_path, redis_url, carry=False), clock):
        origin, berlin, _nyc = await posted("No counts in this circle")
        await react("b1", berlin, "✊", "memory:jonas")
        await react("a1", origin, "✊", "memory:eva")
        await NETWORK.bot("c").post("c1", "a later message, after the reactions")
        await eventually(lambda: len(NETWORK.sends_to("a1")) == 1, what="the later copy")
        clock.advance(timedelta(seconds=61))
        await eventually(lambda: len(NETWORK.sends_to("b1")) == 2, what="NYC's copy in Berlin")
    assert await redis_client.keys("tl:rx:*") == []  # no copy kept, nothing counted
    assert edits("b1") == []
    assert edits("c1") == []


async def test_unknown_messages_and_the_bots_own_reactions_count_nothing(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    clock = ManualClock(START)
    async with bridge(config(tmp_path, redis_url), clock):
        origin, berlin, _nyc = await posted("Counts here")
        await react("b1", "9999", "✊", "memory:jonas")  # a message the bridge does not know
        await react("b1", berlin, "✊", "memory:b")  # the bot itself (its identity)
        await react("a1", origin, "✊", "memory:a")
        await NETWORK.bot("c").post("c1", "a later message, after the reactions")
        await eventually(lambda: len(NETWORK.sends_to("a1")) == 1, what="the later copy")
        clock.advance(timedelta(seconds=61))
        await eventually(lambda: len(NETWORK.sends_to("b1")) == 2, what="NYC's copy in Berlin")
    found = sorted(str(k) for k in await redis_client.keys("tl:rx:*"))
    assert f"tl:rx:d:cdmx/{origin}" in found
    assert all(k.startswith("tl:rx:d:") for k in found)  # kept copies only: no counts, markers
    assert edits("b1") == []
    assert "✊" not in seen("b1", berlin)


async def test_a_retract_purges_the_kept_copy_and_its_counts(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    clock = ManualClock(START)
    async with bridge(config(tmp_path, redis_url), clock):
        origin, berlin, _nyc = await posted("my home address is Calle 5")
        ref = MsgRef(room="cdmx", id=origin)

        async def kept() -> bool:  # recorded just after the send the bot saw
            return "Calle 5" in str(await redis_client.hgetall(keys.reaction_copies(ref)))

        await eventually_async(kept, what="the kept copy")
        await react("b1", berlin, "✊", "memory:jonas")
        await counted(redis_client, ref, {"✊": 1})
        await NETWORK.bot("a").command("a1", "retract", reply_to=origin, who="ana")
        await eventually(lambda: NETWORK.chats["b1"][berlin].deleted, what="the copy deleted")
        for key in reactions.all_keys(ref):
            assert not await redis_client.exists(key), key
        clock.advance(timedelta(seconds=61))
        await react("b1", berlin, "❤", "memory:sam")  # after the retract: nothing comes back
        await NETWORK.bot("c").post("c1", "later")
        await eventually(lambda: len(NETWORK.sends_to("a1")) == 1, what="a later copy")
    assert not await redis_client.exists(keys.reaction_copies(ref))
    assert all("Calle 5" not in str(v) for v in await redis_client.hgetall(f"tl:rx:d:{ref}"))


async def test_a_matrix_reactions_redaction_withdraws_it(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    clock = ManualClock(START)
    async with bridge(config(tmp_path, redis_url), clock):
        origin, berlin, _nyc = await posted("Who comes?")
        ref = MsgRef(room="cdmx", id=origin)
        await react("b1", berlin, "✊", "memory:jonas", reaction_id="$r1")
        await react("b1", berlin, "✊", "memory:eva", reaction_id="$r2")
        await counted(redis_client, ref, {"✊": 2})
        # the redaction of $r1, as bots/matrix/ingest.py gives it: a delete of that id
        gone = Envelope(key="t:redact", kind="delete", bot="b", chat="b1", message_id="$r1",
                        sender=Sender(id="memory:jonas", name="jonas"))  # fmt: skip
        await NETWORK.bot("b").ctx.emit(gone)
        await counted(redis_client, ref, {"✊": 1})
        # a redaction of eva's $r2 by someone else (a homeserver may pass one on): nothing
        await NETWORK.bot("b").ctx.emit(gone.model_copy(update={"key": "t:r2x", "message_id":
                                                                 "$r2"}))  # fmt: skip
        await react("b1", berlin, "❤", "memory:sam", reaction_id="$r3")  # after it
        await counted(redis_client, ref, {"✊": 1, "❤": 1})
        # a moderator's redaction of $r2 arrives twice (a worker ran it twice): one less only
        mod = Sender(id="memory:mod", name="mod")
        for key in ("t:r2", "t:r2b"):
            await NETWORK.bot("b").ctx.emit(gone.model_copy(
                update={"key": key, "message_id": "$r2", "sender": mod, "admin": True}
            ))  # fmt: skip
        await counted(redis_client, ref, {"❤": 1})


async def test_a_premium_members_several_reactions_count_once_and_never_the_share_one(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    """Telegram gives all she shows: 🕊 (the share reaction) first and ❤ after counts ❤, once."""
    clock = ManualClock(START)
    async with bridge(config(tmp_path, redis_url), clock):
        _origin, berlin, _nyc = await posted("Several at once")
        ref = MsgRef(room="cdmx", id=_origin)
        await react("b1", berlin, "🕊", "memory:jonas", reactions=("🕊", "❤"))
        await react("b1", berlin, "👍", "memory:jonas", reactions=("🕊", "❤", "👍"))
        await react("b1", berlin, "✊", "memory:eva", reactions=("✊",))
        await counted(redis_client, ref, {"❤": 1, "✊": 1})
