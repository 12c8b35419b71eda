"""RSVP on call-outs, through the whole bridge (relay, scheduler, deliverers, in-memory bots)
on a clock the test moves: members answer a call-out's copy with ✊/🤔 or ``rsvp yes|maybe|no``
as a reply, and the organizers' report shows the counts per city and in total, edited in
place at most once a minute. Only counts are kept, never who; hostile input counts nothing.
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
from bridge.callouts.rsvp import counts
from bridge.callouts.store import CalloutStore
from bridge.config.load import LoadedConfig
from bridge.model.envelope import Envelope, Sender
from tests.bridge.test_callouts_schedule import ROOMS
from tests.harness import eventually, eventually_async, memory_config
from tests.memory_bot import NETWORK, Delivered

FIRE = datetime(2030, 5, 1, 18, tzinfo=UTC)
CALLOUT = {
    "id": "blockade", "circles": ["net"], "at": "2030-05-01 18:00", "mode": "instant",
    "tz": "UTC", "language": "en", "text": "Eviction blockade at Calle 5", "rsvp": True,
    "report_to": "nyc",
}  # fmt: skip


_events = itertools.count()


def config(tmp_path: Path, redis_url: str, **callout: Any) -> LoadedConfig:
    return memory_config(tmp_path, redis_url, rooms=ROOMS, callouts=[{**CALLOUT, **callout}])


@contextlib.asynccontextmanager
async def fired(
    loaded: LoadedConfig, clock: ManualClock, *, wait: bool = True
) -> AsyncIterator[App]:
    """The bridge on ``clock``, once the call-out has landed in the three rooms and its
    report has reached NYC (``wait``)."""
    app = App(loaded, lease_ms=1000)
    app.callout_clock = clock
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(app.run(stop, ready))
    await asyncio.wait_for(ready.wait(), 20)
    try:
        if wait:
            clock.set(FIRE)
            await eventually(
                lambda: len(NETWORK.sends_to("c1")) == 2, what="the copy and the report"
            )
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def copy_in(chat: str) -> str:
    """The id of the call-out's copy in ``chat``."""
    return next(d.ids[0] for d in NETWORK.sends_to(chat) if d.delivery and d.delivery.callout)


def report_edits() -> list[Delivered]:
    return [d for d in NETWORK.log if d.chat == "c1" and d.action == "edit"]


def report_now() -> str:
    """The report as NYC's members see it now."""
    (report,) = [d for d in NETWORK.sends_to("c1") if d.text.startswith("Call-out blockade")]
    return NETWORK.chats["c1"][report.ids[0]].text


BOTS = {"a1": "a", "b1": "b", "c1": "c"}


async def react(
    chat: str, message_id: str, emoji: str | None, who: str, reaction_id: str | None = None
) -> None:
    """A reaction as the adapters give it; ``reaction_id``: a Matrix reaction's own event."""
    envelope = Envelope(
        key=f"t:{chat}:{message_id}:{who}:{next(_events)}", kind="reaction", bot=BOTS[chat],
        chat=chat, message_id=message_id, sender=Sender(id=who, name=who), reaction=emoji,
        reaction_id=reaction_id,
    )  # fmt: skip
    await NETWORK.bot(BOTS[chat]).ctx.emit(envelope)


async def redact(chat: str, reaction_id: str, who: str, *, admin: bool = False) -> None:
    """A Matrix redaction of a reaction, as bots/matrix/ingest.py gives it: a delete of its id."""
    envelope = Envelope(
        key=f"t:{chat}:redact:{reaction_id}:{next(_events)}", kind="delete", bot=BOTS[chat],
        chat=chat, message_id=reaction_id, sender=Sender(id=who, name=who), admin=admin,
    )  # fmt: skip
    await NETWORK.bot(BOTS[chat]).ctx.emit(envelope)


async def settled(redis_client: redis.asyncio.Redis, expected: dict[str, int]) -> None:
    """Every answer sent so far is counted (the relay has handled them): room|answer -> n."""

    async def check() -> bool:
        found = await counts(redis_client, "blockade", "2030-05-01T18:00Z")
        return {k: n for k, n in found.items() if n} == expected

    await eventually_async(check, what=f"counts {expected}")


async def test_each_copy_invites_an_answer_in_its_rooms_language(
    tmp_path: Path, redis_url: str
) -> None:
    clock = ManualClock(FIRE - timedelta(minutes=5))
    async with fired(config(tmp_path, redis_url), clock):
        pass
    (copy,) = [d for d in NETWORK.sends_to("c1") if d.delivery and d.delivery.callout]
    assert "React ✊ if you are coming, 🤔 if maybe, or reply +rsvp yes|maybe|no" in copy.text
    report = report_now()
    assert "In total: 0 coming, 0 maybe, 0 not coming." in report


async def test_a_storm_of_500_reactions_costs_one_report_edit_a_minute_and_counts_right(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    clock = ManualClock(FIRE - timedelta(minutes=5))
    async with fired(config(tmp_path, redis_url), clock):
        cdmx, berlin = copy_in("a1"), copy_in("b1")
        for n in range(300):
            await react("a1", cdmx, "✊", f"memory:m{n}")
        for n in range(200):
            await react("b1", berlin, "🤔", f"memory:b{n}")
        await settled(redis_client, {"cdmx|yes": 300, "berlin|maybe": 200})
        assert len(report_edits()) <= 1  # the clock has not moved: one minute, one edit
        clock.advance(timedelta(seconds=61))
        await eventually(lambda: "In total: 300 coming, 200 maybe" in report_now(),
                         what="the final counts")  # fmt: skip
        await asyncio.sleep(0.5)  # no more edits come in this minute
    assert len(report_edits()) <= 2
    text = report_now()
    assert "CDMX: 300 coming, 0 maybe, 0 not coming." in text
    assert "Berlin: 0 coming, 200 maybe, 0 not coming." in text
    assert "In total: 300 coming, 200 maybe, 0 not coming." in text
    # only counts are stored: no member id in any RSVP key
    for key in await redis_client.keys("tl:rsvp:*"):
        kind = await redis_client.type(key)
        dumped = str(await redis_client.hgetall(key)) if kind == "hash" else ""
        assert "memory:m" not in dumped
        assert "memory:b" not in dumped


async def test_hostile_and_repeated_answers_count_once_or_not_at_all(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    clock = ManualClock(FIRE - timedelta(minutes=5))
    async with fired(config(tmp_path, redis_url), clock):
        cdmx = copy_in("a1")
        bot = NETWORK.bot("a")
        await react("a1", cdmx, "✊", "memory:ana")
        await react("a1", cdmx, "✊", "memory:ana")  # twice: counted once
        await react("a1", "9999", "✊", "memory:eve")  # a message the bridge does not know
        await react("a1", cdmx, "✊", "memory:a")  # the bot itself
        await react("a1", cdmx, "❤️", "memory:eve")  # not an RSVP reaction
        # a forged answer: one line in CDMX's language, listing the answers
        asked = await bot.command("a1", "rsvp", "perhaps", reply_to=cdmx, who="eve")
        await eventually(lambda: any(d.reply_to == asked for d in NETWORK.sends_to("a1")))
        (answer,) = [d.text for d in NETWORK.sends_to("a1") if d.reply_to == asked]
        assert "yes|maybe|no" in answer
        assert "\n" not in answer
        # not replying to a call-out copy: refused, nothing counted
        other = await bot.post("a1", "hola", who="luis")
        asked = await bot.command("a1", "rsvp", "yes", reply_to=other, who="luis")
        await eventually(lambda: any(d.reply_to == asked for d in NETWORK.sends_to("a1")))
        asked = await bot.command("a1", "rsvp", "yes", who="luis")  # not a reply at all
        await eventually(lambda: any(d.reply_to == asked for d in NETWORK.sends_to("a1")))
        # a member takes her reaction back (Telegram: new_reaction is empty)
        await react("a1", cdmx, "✊", "memory:tere")
        await react("a1", cdmx, "", "memory:tere")
        # a member changes her mind: maybe -> no moves her count. Last, so that the counts
        # the test waits for are reached only once everything is counted (before, "1 yes, 1
        # no" also held for a moment before the withdrawal, and the minute's edit could
        # show "2 coming")
        await react("a1", cdmx, "🤔", "memory:rosa")
        await bot.command("a1", "rsvp", "no", reply_to=cdmx, who="rosa")
        await settled(redis_client, {"cdmx|yes": 1, "cdmx|no": 1})
        clock.advance(timedelta(seconds=61))
        await eventually(lambda: "In total: 1 coming, 0 maybe, 1 not coming." in report_now(),
                         what="the counts")  # fmt: skip
    assert "CDMX: 1 coming, 0 maybe, 1 not coming." in report_now()


async def test_an_organizer_asks_for_answers_from_chat(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    loaded = memory_config(tmp_path, redis_url, rooms=ROOMS, organizers=["memory:org"])
    clock = ManualClock(FIRE - timedelta(hours=1))
    async with fired(loaded, clock, wait=False):
        asked = await NETWORK.bot("c").command(
            "c1", "callout", "add 2030-05-01 18:00 instant rsvp net | Blockade", who="org"
        )
        await eventually(lambda: any(d.reply_to == asked for d in NETWORK.sends_to("c1")))
    (stored,) = (await CalloutStore(redis_client).all()).values()
    assert stored.rsvp
    assert stored.circles == ("net",)
    assert stored.text == "Blockade"


async def test_a_telegram_member_who_changes_her_reaction_withdraws_only_a_reaction_answer(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    """Telegram shows one reaction per member, her latest: ✊ changed to ❤️ is no longer
    "coming"; an answer given with /rsvp stays whatever she reacts."""
    clock = ManualClock(FIRE - timedelta(minutes=5))
    async with fired(config(tmp_path, redis_url), clock):
        cdmx = copy_in("a1")
        bot = NETWORK.bot("a")
        await react("a1", cdmx, "✊", "memory:ana")
        await react("a1", cdmx, "❤️", "memory:ana")  # she changed ✊ to ❤️: not coming any more
        await react("a1", cdmx, "🤔", "memory:lupe")
        await react("a1", cdmx, "👍", "memory:lupe")  # 🤔 changed to 👍
        await bot.command("a1", "rsvp", "yes", reply_to=cdmx, who="rosa")
        await react("a1", cdmx, "❤️", "memory:rosa")  # likes it: still coming
        await react("a1", cdmx, "", "memory:rosa")  # and takes the heart back: still coming
        await bot.command("a1", "rsvp", "maybe", reply_to=cdmx, who="tere")
        await react("a1", cdmx, "✊", "memory:tere")  # her latest answer: coming, by reaction
        await react("a1", cdmx, "🔥", "memory:tere")  # ✊ changed to 🔥: withdrawn
        await react("a1", cdmx, "✊", "memory:paz")  # still coming
        await bot.command("a1", "rsvp", "no", reply_to=cdmx, who="zoe")  # the last answer
        await settled(redis_client, {"cdmx|yes": 2, "cdmx|no": 1})
        clock.advance(timedelta(seconds=61))
        await eventually(lambda: "In total: 2 coming, 0 maybe, 1 not coming." in report_now(),
                         what="the counts")  # fmt: skip
    assert "CDMX: 2 coming, 0 maybe, 1 not coming." in report_now()
    for key in await redis_client.keys("tl:rsvp:*"):  # still nothing says who
        if await redis_client.type(key) == "hash":
            assert "memory:" not in str(await redis_client.hgetall(key))


async def test_a_matrix_members_redacted_reaction_withdraws_it_and_only_it(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    """On Matrix taking a reaction back redacts it; a member may put ✊ and 🤔 both: her latest
    counts, and redacting the older one leaves the newer one counted."""
    clock = ManualClock(FIRE - timedelta(minutes=5))
    async with fired(config(tmp_path, redis_url), clock):
        berlin = copy_in("b1")
        bot = NETWORK.bot("b")
        await react("b1", berlin, "✊", "memory:jonas", "$r1")
        await react("b1", berlin, "✊", "memory:eva", "$r2")
        await react("b1", berlin, "🤔", "memory:eva", "$r3")  # both: her latest, maybe
        await react("b1", berlin, "✊", "memory:lena", "$r4")
        await bot.command("b1", "rsvp", "no", reply_to=berlin, who="lena")  # then: not coming
        await react("b1", berlin, "✊", "memory:karl", "$r5")
        await settled(redis_client, {"berlin|yes": 2, "berlin|maybe": 1, "berlin|no": 1})
        await redact("b1", "$r1", "memory:jonas")  # jonas takes ✊ back
        await redact("b1", "$r2", "memory:eva")  # eva takes her older ✊ back: still maybe
        await redact("b1", "$r4", "memory:lena")  # her /rsvp no stays
        await redact("b1", "$r1", "memory:jonas")  # the same redaction again: nothing more
        await redact("a1", "$r5", "memory:eve")  # another room's event of that id: nothing
        await react("a1", copy_in("a1"), "🤔", "memory:omar")  # after it, in that room
        await react("b1", berlin, "🤔", "memory:ida", "$r6")  # the last answer here
        await settled(redis_client, {"berlin|yes": 1, "berlin|maybe": 2, "berlin|no": 1,
                                     "cdmx|maybe": 1})  # fmt: skip
        clock.advance(timedelta(seconds=61))
        await eventually(lambda: "In total: 1 coming, 3 maybe, 1 not coming." in report_now(),
                         what="the counts")  # fmt: skip
    assert "Berlin: 1 coming, 2 maybe, 1 not coming." in report_now()


async def test_a_redaction_by_someone_else_withdraws_nothing_but_a_moderators_does(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    """A homeserver may pass on a redaction of another member's reaction (one on the
    attacker's own server): it must not take her answer back. A moderator's may."""
    clock = ManualClock(FIRE - timedelta(minutes=5))
    async with fired(config(tmp_path, redis_url), clock):
        berlin = copy_in("b1")
        await react("b1", berlin, "✊", "memory:jonas", "$r1")
        await react("b1", berlin, "✊", "memory:spam", "$r2")
        await settled(redis_client, {"berlin|yes": 2})
        await redact("b1", "$r1", "memory:mallory")  # not hers, not a moderator
        await react("b1", berlin, "🤔", "memory:eva", "$r3")  # after it, in the same room
        await settled(redis_client, {"berlin|yes": 2, "berlin|maybe": 1})
        await redact("b1", "$r2", "memory:mod", admin=True)  # a moderator removes spam
        await settled(redis_client, {"berlin|yes": 1, "berlin|maybe": 1})
        await redact("b1", "$r1", "memory:jonas")  # and jonas can still take his back
        await settled(redis_client, {"berlin|maybe": 1})
