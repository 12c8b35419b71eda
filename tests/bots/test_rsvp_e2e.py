"""RSVP end to end (issue 22's must-show): a call-out with ``rsvp: true`` lands in a Telegram
group on the sandbox Bot API and in a Matrix room on a real Synapse; members answer with ✊
(and 🤔) as the platforms carry reactions (Telegram's message_reaction, Matrix's m.reaction
annotation), and the organizers' report in CDMX is edited to show the counts per city.
The scheduler's clock is moved by the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.callouts.clock import ManualClock
from bridge.callouts.rsvp import counts
from bridge.model.envelope import MsgRef
from bridge.relay import reactions
from tests.bots.e2e_world import (
    World,
    bridge,
    cdmx_room,
    telegram_bot,
    tg_texts,
)
from tests.bots.telegram_world import ANA, CDMX, JONAS
from tests.harness import eventually, eventually_async
from tests.memory_bot import NETWORK

FIRE = datetime(2030, 5, 1, 18, tzinfo=UTC)


async def test_rsvp_collects_reactions_in_telegram_and_matrix_and_the_report_counts_per_city(
    e2e: World,
) -> None:
    redis_client, tg = e2e.redis, e2e.tg
    tg.add_member(CDMX, JONAS)  # a second member in CDMX
    async with e2e.matrix() as mx:
        lena, berlin = mx.lena, mx.room
        loaded = e2e.config(bots=[telegram_bot(tg), mx.bot_entry()],
            rooms=[cdmx_room(), mx.room_entry()], circle={"id": "net"},
            callouts=[{"id": "blockade", "circles": ["net"], "at": "2030-05-01 18:00",
                       "mode": "instant", "tz": "UTC", "language": "en", "rsvp": True,
                       "text": "Eviction blockade at Calle 5", "report_to": "cdmx"}],
        )  # fmt: skip
        clock = ManualClock(FIRE - timedelta(minutes=5))
        async with bridge(loaded, mx, clock):
            clock.set(FIRE)

            def report() -> str:
                found = [t for t in tg_texts(tg, CDMX) if "blockade" in t and "CDMX:" in t]
                return found[-1] if found else ""

            await eventually(lambda: bool(report()), what="the report in CDMX")
            (copy_tg,) = [m for m in tg.messages(CDMX) if "Calle 5" in (m["text"] or "")
                          and "CDMX:" not in (m["text"] or "")]  # fmt: skip
            await mx.wait_said("Calle 5")
            copy_mx = mx.event_of("Calle 5")

            # Ana is coming, Jonas maybe (Telegram); Lena is coming (a Matrix annotation)
            tg.react(CDMX, copy_tg["message_id"], ANA, "✊")
            tg.react(CDMX, copy_tg["message_id"], JONAS, "🤔")
            await lena.send(berlin, {"m.relates_to": {"rel_type": "m.annotation",
                                                      "event_id": copy_mx, "key": "✊"}},
                            kind="m.reaction")  # fmt: skip

            async def counted() -> bool:
                found = await counts(redis_client, "blockade", "2030-05-01T18:00Z")
                want = {"cdmx|yes": 1, "cdmx|maybe": 1, "berlin|yes": 1}
                return {k: n for k, n in found.items() if n} == want

            await eventually_async(counted, timeout=60, what="the three answers counted")

            # Jonas (Premium) shows ❤ and ✊ at once: coming; Ana's ✊ becomes a custom
            # emoji, which is none of the answers: her answer is withdrawn
            async def now(want: dict[str, int]) -> None:
                async def check() -> bool:
                    found = await counts(redis_client, "blockade", "2030-05-01T18:00Z")
                    return {k: n for k, n in found.items() if n} == want

                await eventually_async(check, timeout=60, what=f"counts {want}")

            tg.react(CDMX, copy_tg["message_id"], JONAS, ["❤", "✊"])
            await now({"cdmx|yes": 2, "berlin|yes": 1})
            tg.react(CDMX, copy_tg["message_id"], ANA, ["custom:5368324170671202286"])
            await now({"cdmx|yes": 1, "berlin|yes": 1})
            clock.advance(timedelta(seconds=61))
            await eventually(lambda: "Berlin: 1 vienen" in report(), timeout=60,
                             what="the report edited with the counts")  # fmt: skip
    text = report()
    assert "CDMX: 1 vienen, 0 quizás, 0 no vienen." in text
    assert "Berlin: 1 vienen, 0 quizás, 0 no vienen." in text


async def test_a_matrix_reaction_shows_on_the_copy_and_its_redaction_takes_it_back(
    e2e: World,
) -> None:
    """Reaction counts (carry_reactions) through a real Synapse: Lena's ✊ on the copy of
    Ana's message is counted and shown on the copy by an edit; her redaction of it (a delete
    of the reaction's event id, as the Matrix ingest gives it) takes it back."""
    redis_client = e2e.redis
    async with e2e.matrix() as mx:
        lena, berlin, bot = mx.lena, mx.room, mx.bot
        loaded = e2e.config(bots=[{"id": "mem", "platform": "memory"}, mx.bot_entry()],
            rooms=[{"id": "cdmx", "bot": "mem", "chat": "m1", "language": "en", "label": "CDMX"},
                   mx.room_entry("en")],
            circle={"id": "net", "relay": "all", "carry_reactions": True},
        )  # fmt: skip
        clock = ManualClock(FIRE)
        async with bridge(loaded, mx, clock):
            origin = await NETWORK.bot("mem").post("m1", "Assembly at 7")
            await mx.wait_said("Assembly")
            copy = mx.event_of("Assembly")
            reaction = await lena.send(
                berlin,
                {"m.relates_to": {"rel_type": "m.annotation", "event_id": copy, "key": "✊"}},
                kind="m.reaction",
            )
            ref = MsgRef(room="cdmx", id=origin)

            async def shows(expected: dict[str, int]) -> bool:
                return await reactions.counts(redis_client, ref) == expected

            await eventually_async(lambda: shows({"✊": 1}), timeout=60, what="counted")
            clock.advance(timedelta(seconds=61))

            def edited(ev: list[dict[str, Any]], line: str) -> bool:
                return any(
                    e.get("sender") == bot and line in str(e.get("content", {}).get(
                        "m.new_content", {}).get("body", "")) for e in ev
                )  # fmt: skip

            await lena.wait_for(berlin, lambda ev: edited(ev, "✊ 1"))
            await lena.redact(berlin, reaction)
            await eventually_async(lambda: shows({}), timeout=60, what="taken back")
