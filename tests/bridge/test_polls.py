"""Polls through the real relay and Redis with in-memory bots: a poll crosses as a poll in each
room, votes on the copies are counted per city, ``poll results`` and a close show the totals.
The in-memory platform shows no native poll, so its rooms get the numbered list and ``vote N``.
Hostile cases first: a poll too long for the platforms, one with one option, votes on what is
not a poll the bridge sent, a member voting twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import redis.asyncio

from bridge.model.envelope import (
    POLL_OPTION,
    POLL_OPTIONS,
    POLL_QUESTION,
    Ballot,
    Envelope,
    Poll,
    Sender,
)
from tests.bridge.test_moderation import answers, settled
from tests.harness import committed, eventually, memory_config, running
from tests.memory_bot import NETWORK, Delivered

QUESTION = "¿Bloqueamos el jueves o el viernes?"
OPTIONS = ("Jueves", "Viernes", "Los dos")


async def post_poll(net: object, poll: Poll, *, chat: str = "a1", message_id: str = "p1") -> None:
    bot = NETWORK.bot(chat[0])
    await bot.ctx.emit(
        Envelope(
            key=f"mem:{chat}:{message_id}:{time.monotonic_ns()}",
            kind="message",
            bot=bot.id,
            chat=chat,
            message_id=message_id,
            sender=Sender(id="memory:ana", name="Ana"),
            poll=poll,
        )
    )


async def vote(chat: str, message_id: str, ballot: Ballot, who: str = "platform") -> None:
    bot = NETWORK.bot(chat[0])
    await bot.ctx.emit(
        Envelope(
            key=f"mem:{chat}:vote:{message_id}:{who}:{time.monotonic_ns()}",
            kind="vote",
            bot=bot.id,
            chat=chat,
            message_id=message_id,
            sender=Sender(id=f"memory:{who}", name=who),
            ballot=ballot,
        )
    )


def poll_copy(chat: str) -> Delivered:
    found = [d for d in NETWORK.sends_to(chat) if d.delivery and d.delivery.poll]
    assert len(found) == 1, [d.text for d in NETWORK.sends_to(chat)]
    return found[0]


def _shows(needle: str, chat: str) -> Callable[[], bool]:
    return lambda: any(needle in a for a in answers(chat))


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def test_a_poll_crosses_as_a_poll_in_each_room_with_a_numbered_list_to_fall_back_on(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await post_poll(net, Poll(question=QUESTION, options=OPTIONS, multiple=True))
        await eventually(lambda: bool(NETWORK.sends_to("b1")) and bool(NETWORK.sends_to("c1")))
    for chat in ("b1", "c1"):
        d = poll_copy(chat)
        assert d.delivery is not None
        assert d.delivery.poll is not None
        assert d.delivery.poll.question == f"Ana (CDMX): {QUESTION}"
        assert d.delivery.poll.options == OPTIONS
        assert d.delivery.poll.multiple
        # what a member sees where no native poll can be shown
        assert "1. Jueves" in d.text
        assert "3. Los dos" in d.text
        assert "+vote" in d.text


async def test_a_poll_too_long_for_the_platforms_is_shortened_with_a_note_never_refused(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    question = "¿" + "muy " * 200 + "?"
    options = tuple(f"opción {i} " + "x" * 150 for i in range(15))
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await post_poll(net, Poll(question=question, options=options))
        await eventually(lambda: bool(NETWORK.sends_to("b1")))
    poll = poll_copy("b1").delivery.poll  # type: ignore[union-attr]
    assert poll is not None
    assert utf16(poll.question) <= POLL_QUESTION
    assert len(poll.options) == POLL_OPTIONS
    assert all(1 <= utf16(o) <= POLL_OPTION for o in poll.options)
    assert poll.options[0].startswith("opción 0 ")
    # the note, in the room's language (German): shortened, and how many options were left out
    assert "gekürzt" in poll.question
    assert "3" in poll.question


async def test_a_poll_with_one_option_or_no_question_crosses_as_text_with_a_note(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await post_poll(net, Poll(question="¿Vamos?", options=("Sí",)), message_id="p1")
        await post_poll(net, Poll(question="  ", options=("a", "b")), message_id="p2")
        await eventually(lambda: len(NETWORK.sends_to("c1")) == 2)
    sent = NETWORK.sends_to("c1")
    assert all(d.delivery is not None and d.delivery.poll is None for d in sent)
    assert "¿Vamos?" in sent[0].text
    assert "Sí" in sent[0].text
    assert all("not carried as a poll" in d.text for d in sent)
    assert "a" in sent[1].text
    assert "b" in sent[1].text


async def test_votes_are_counted_per_city_and_poll_results_shows_them_in_each_language(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await post_poll(net, Poll(question=QUESTION, options=OPTIONS))
        await eventually(lambda: bool(NETWORK.sends_to("b1")) and bool(NETWORK.sends_to("c1")))
        await committed(net)
        berlin, nyc = poll_copy("b1").ids[0], poll_copy("c1").ids[0]
        # Berlin's platform counts itself: the latest totals replace the earlier ones
        await vote("b1", berlin, Ballot(counts=(1, 0, 0), voters=1))
        await vote("b1", berlin, Ballot(counts=(2, 1, 0), voters=3))
        # NYC: a member's latest choice wins; two members
        await NETWORK.bot("c").command("c1", "vote", "1", reply_to=nyc, who="leo")
        await NETWORK.bot("c").command("c1", "vote", "3", reply_to=nyc, who="leo")
        await NETWORK.bot("c").command("c1", "vote", "3", reply_to=nyc, who="mia")
        await settled(net, "c1")
        await NETWORK.bot("b").command("b1", "poll", "results", reply_to=berlin, who="jonas")
        await NETWORK.bot("c").command("c1", "poll", "results", reply_to=nyc, who="leo")
        await eventually(lambda: any("Berlin" in a and "NYC" in a for a in answers("b1")))
        await eventually(lambda: any("Berlin" in a and "NYC" in a for a in answers("c1")))
    german = next(a for a in answers("b1") if "NYC" in a)
    english = next(a for a in answers("c1") if "NYC" in a)
    # network: 5 voters; option 1: 2 (Berlin 2), option 2: 1 (Berlin 1), option 3: 2 (NYC 2)
    assert "5" in german
    assert "Berlin 2" in german
    assert "NYC 2" in german
    assert "Option 3: 2 votes (NYC 2)" in english
    assert "Option 1: 2 votes (Berlin 2)" in english
    assert "NYC: 2 voters" in english
    assert "Berlin: 3 voters" in english
    assert "CDMX" in english  # the origin room says why its votes are not in the count


async def test_votes_on_anything_but_a_poll_the_bridge_sent_count_nothing(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await post_poll(net, Poll(question=QUESTION, options=OPTIONS))
        text = await NETWORK.bot("a").post("a1", "Hola a todas")
        await eventually(lambda: len(NETWORK.sends_to("c1")) == 2)
        await committed(net)  # else a vote could count nothing only for being too early
        nyc = poll_copy("c1").ids[0]
        text_copy = next(d for d in NETWORK.sends_to("c1") if d.delivery.poll is None).ids[0]  # type: ignore[union-attr]
        await vote("a1", "p1", Ballot(counts=(50, 0, 0), voters=50))  # the member's own poll
        await vote("c1", text_copy, Ballot(counts=(50, 0, 0), voters=50))  # not a poll
        await vote("c1", "4242", Ballot(choices=(0,)), who="eve")  # no such message
        await vote("a1", text, Ballot(choices=(0,)), who="eve")  # an origin text
        await vote("c1", nyc, Ballot(choices=(7,)), who="eve")  # no such option
        await vote("c1", nyc, Ballot(choices=(-1,)), who="eve")
        await vote("c1", nyc, Ballot(counts=(9, 9, 9, 9), voters=9))  # forged totals
        c = NETWORK.bot("c")
        await c.command("c1", "vote", "9", reply_to=nyc, who="eve")
        await c.command("c1", "vote", "uno", reply_to=nyc, who="eve")
        await c.command("c1", "vote", "1", reply_to=text_copy, who="eve")
        await c.command("c1", "poll", "results", reply_to=text_copy, who="eve")
        await c.command("c1", "poll", "results", reply_to=nyc, who="eve")
        await eventually(lambda: any("Option 1" in a for a in answers("c1")))
    said = answers("c1")
    assert sum("no option" in a.lower() for a in said) == 2, said
    assert sum("not a poll" in a for a in said) == 2, said
    result = next(a for a in said if "Option 1" in a)
    assert "0 voters in the network" in result
    assert "Option 1: 0 votes" in result


async def test_closing_a_poll_copy_shows_the_results_in_every_room_once(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await post_poll(net, Poll(question=QUESTION, options=OPTIONS))
        await eventually(lambda: bool(NETWORK.sends_to("b1")) and bool(NETWORK.sends_to("c1")))
        await committed(net)
        berlin = poll_copy("b1").ids[0]
        await vote("b1", berlin, Ballot(counts=(0, 4, 0), voters=4, closed=True))
        await vote("b1", berlin, Ballot(counts=(0, 4, 0), voters=4, closed=True))
        for chat in ("a1", "b1", "c1"):
            await eventually(_shows("Berlin 4", chat))
        await settled(net, "b1")
    assert sum("Berlin 4" in a for a in answers("b1")) == 1
    assert any("geschlossen" in a for a in answers("b1"))
