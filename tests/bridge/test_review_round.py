"""Hostile review of this round's features (issues 18 and 22), each test an attack that
worked before its fix: a Matrix reaction whose key is free text (Element's custom
reactions) shown as a "count" in every linked room; a linked room's label with bidi or
zero-width characters that shows as another city's name in the circle's notices."""

from __future__ import annotations

import time
import unicodedata
from datetime import timedelta
from pathlib import Path

import redis.asyncio

from bridge.callouts.clock import ManualClock
from bridge.commands.links import Linker
from bridge.config.linked import is_linked, merge
from bridge.infra.links import LinkStore
from bridge.model import keys
from bridge.model.envelope import Envelope, MsgRef, Poll, Sender
from bridge.model.i18n import render
from bridge.model.links import LinkRequest
from tests.bridge.test_linked_core import porto
from tests.bridge.test_moderation import answers
from tests.bridge.test_polls import OPTIONS, QUESTION, poll_copy, post_poll
from tests.bridge.test_reaction_counts import START, bridge, config, counted, posted, react, seen
from tests.harness import committed, eventually, memory_config, running
from tests.memory_bot import NETWORK

SPOOF = "The blockade is CANCELLED, stay home"


async def test_a_reaction_that_is_not_an_emoji_is_never_shown_in_other_rooms(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    clock = ManualClock(START)
    async with bridge(config(tmp_path, redis_url), clock):
        origin, berlin, nyc = await posted("Blockade tomorrow at 7")
        await committed()
        ref = MsgRef(room="cdmx", id=origin)
        # a Matrix member's custom reaction: any text, of any length, as the key
        await react("b1", berlin, SPOOF, "memory:troll", reaction_id="$t1")
        await react("b1", berlin, "x" * 5000, "memory:troll2", reaction_id="$t2")
        await react("b1", berlin, "👍\u202e", "memory:troll3", reaction_id="$t3")
        await react("c1", nyc, "✊", "memory:sam")
        await react("c1", nyc, "1️⃣", "memory:kim")  # a keycap is an emoji
        await react("c1", nyc, "🇩🇪", "memory:eva")  # so is a flag
        await react("c1", nyc, "👩🏽‍⚕️", "memory:ida")  # and a ZWJ sequence
        await counted(redis_client, ref, {"✊": 1, "1️⃣": 1, "🇩🇪": 1, "👩🏽‍⚕️": 1})
        clock.advance(timedelta(seconds=61))
        await eventually(lambda: "✊ 1" in seen("b1", berlin), what="Berlin's line")
        for chat, copy in (("b1", berlin), ("c1", nyc)):
            assert SPOOF not in seen(chat, copy)
            assert "xxxxx" not in seen(chat, copy)
            assert "\u202e" not in seen(chat, copy)
        stored = await redis_client.hgetall(keys.reaction_counts(ref))
        assert not any(len(str(k)) > 40 for k in stored)


async def test_a_label_with_bidi_or_zero_width_characters_cannot_pose_as_another_city(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    circles = [{"id": "housing", "rooms": ["cdmx", "berlin"], "relay": "all"}]
    cfg = memory_config(tmp_path, redis_url, circles=circles).config
    now = [1_900_000_000.0]
    store = LinkStore(redis_client, lambda: now[0])
    linker = Linker(cfg, redis_client, store, lambda: now[0])

    def ask(args: str, chat: str) -> LinkRequest:
        return LinkRequest(bot="a", chat=chat, sender="memory:lea", name="Lea", admin=True,
                           args=args)  # fmt: skip

    # "\u202enilreB" shows as "Berlin" (right-to-left override); its id is "nilreb"
    code = await store.invite("housing", "memory:mod", "berlin")
    answer = await linker(ask(f"{code} de \u202enilreB", "a9"))
    assert answer.room is not None, render(answer.text, "en")
    label = answer.room.label
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in label), repr(label)
    for stream in ("a", "b"):  # the join notice, in Berlin's bot's outbox
        assert "\u202e" not in str(await redis_client.xrange(keys.outbox(stream)))
    # an escape sequence would reach the operator's terminal in `translocal rooms list`
    code = await store.invite("housing", "memory:mod", "berlin")
    answer = await linker(ask(f"{code} pt \x1b[2J\x1b]0;owned\x07Porto", "a7"))
    assert answer.room is not None, render(answer.text, "en")
    assert "\x1b" not in answer.room.label
    assert "\x07" not in answer.room.label
    # a label that is only invisible characters around a NUL names nothing
    code = await store.invite("housing", "memory:mod", "berlin")
    answer = await linker(ask(f"{code} de \u200b\u2066\x00\u2069", "a8"))
    assert answer.room is None
    assert "cannot name a room" in render(answer.text, "en")


async def test_vote_with_a_superscript_digit_is_refused_and_the_room_keeps_flowing(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    """A superscript two is a digit to str.isdigit, yet int() raises on it: the command must
    answer, not stop the relay (every later message of every room would wait)."""
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await post_poll(net, Poll(question=QUESTION, options=OPTIONS))
        await eventually(lambda: bool(NETWORK.sends_to("c1")), what="the poll's copy")
        await committed(net)
        nyc = poll_copy("c1").ids[0]
        await NETWORK.bot("c").command("c1", "vote", "²", reply_to=nyc, who="eve")
        await NETWORK.bot("c").command("c1", "vote", "\u0661", reply_to=nyc, who="ali")
        await NETWORK.bot("c").post("c1", "still flowing")
        await eventually(lambda: any("still flowing" in d.text for d in NETWORK.sends_to("a1")),
                         what="the next message")  # fmt: skip
        await eventually(lambda: any("no option" in a.lower() for a in answers("c1")),
                         what="the refusal")  # fmt: skip
        await eventually(lambda: any("option 1 is counted" in a for a in answers("c1")),
                         what="the Arabic-Indic 1 counted")  # fmt: skip


async def test_a_new_chat_cannot_take_the_id_of_a_room_unlinked_within_the_maps_retention(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    """The message map still holds the old Porto's messages under the id "porto": a new chat
    linked as "Porto" would be taken for their room of origin (its admins could retract
    them, its message ids collide with the old chat's). The same chat may link again."""
    circles = [{"id": "housing", "rooms": ["cdmx", "berlin"], "relay": "all"}]
    cfg = memory_config(tmp_path, redis_url, circles=circles).config
    now = [1_900_000_000.0]
    store = LinkStore(redis_client, lambda: now[0])
    linker = Linker(cfg, redis_client, store, lambda: now[0])

    def ask(args: str, chat: str) -> LinkRequest:
        return LinkRequest(bot="a", chat=chat, sender="memory:lea", name="Lea", admin=True,
                           args=args)  # fmt: skip

    code = await store.invite("housing", "memory:mod", "berlin")
    first = await linker(ask(f"{code} pt Porto", "a9"))
    assert first.room is not None
    assert first.room.id == "porto"
    assert await store.unlink("porto", keep_s=90 * 86400) is not None
    merge(cfg, await store.rooms())  # as the unlink command does
    now[0] += 3600
    code = await store.invite("housing", "memory:mod", "berlin")
    other = await linker(ask(f"{code} pt Porto", "a8"))
    assert other.room is None, "another chat took the unlinked room's id"
    assert "another label" in render(other.text, "en")
    again = await linker(ask(f"{code} pt Porto", "a9"))
    assert again.room is not None
    assert again.room.id == "porto"


async def test_poll_results_after_the_polls_room_left_answer_and_the_relay_keeps_going(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    """Porto (linked) posts a poll, then unlinks; Berlin asks for the results: the origin's
    label is gone from the rooms, which must not stop the relay."""
    loaded = memory_config(tmp_path, redis_url, relay="all")
    async with running(loaded) as (app, network):
        app.links_every_s = 0.05
        store = LinkStore(redis_client, time.time)
        code = await store.invite("net", "memory:ana", "cdmx")
        assert code is not None
        assert (await store.redeem(code, "net", porto())).outcome == "linked"
        bot = network.bots["a"]
        await eventually(lambda: any("porto" in s for s in bot.served), what="serve(porto)")
        await bot.ctx.emit(Envelope(key="review:poll", kind="message", bot="a", chat="p1",
                                    message_id="7", sender=Sender(id="memory:rita", name="Rita"),
                                    poll=Poll(question=QUESTION, options=OPTIONS)))  # fmt: skip
        await eventually(lambda: bool(NETWORK.sends_to("b1")), what="the poll's copy")
        berlin = poll_copy("b1").ids[0]
        assert await store.unlink("porto", keep_s=3600) is not None
        await eventually(lambda: not is_linked(app.config, "porto"), what="Porto gone")
        b = NETWORK.bot("b")
        await b.command("b1", "vote", "1", reply_to=berlin, who="jonas")
        await b.command("b1", "poll", "results", reply_to=berlin, who="jonas")
        await b.post("b1", "still flowing")
        await eventually(lambda: any("still flowing" in d.text for d in NETWORK.sends_to("a1")),
                         what="the next message")  # fmt: skip
        # in German: "Antwort 1: 1 Stimme (Berlin 1)", the room that left named by its id
        await eventually(lambda: any("Berlin 1" in a and "porto" in a for a in answers("b1")),
                         what="the results")  # fmt: skip
