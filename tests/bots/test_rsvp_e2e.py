"""RSVP end to end (issue 22's must-show): a call-out with ``rsvp: true`` lands in a Telegram
group on the sandbox Bot API and in a Matrix room on a real Synapse; members answer with ✊
(and 🤔) as the platforms carry reactions (Telegram's message_reaction, Matrix's m.reaction
annotation), and the organizers' report in CDMX is edited to show the counts per city.
The scheduler's clock is moved by the test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio

from bridge.callouts.clock import ManualClock
from bridge.callouts.rsvp import counts
from bridge.config.load import load_config
from bridge.model.envelope import MsgRef
from bridge.relay import reactions
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.test_callouts_e2e import ANA, CDMX, JONAS, TOKEN_A, tg, tg_texts
from tests.bots.test_matrix import matrix_bot
from tests.harness import eventually, eventually_async, on_clock, running_app
from tests.helpers import sandbox_bot, write_config
from tests.memory_bot import NETWORK
from tests.synapse_fixture import PASSWORD, create_room, joined, member, texts, unique

__all__ = ["tg"]  # the sandbox Bot API fixture, shared with the call-out tests

FIRE = datetime(2030, 5, 1, 18, tzinfo=UTC)


async def test_rsvp_collects_reactions_in_telegram_and_matrix_and_the_report_counts_per_city(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    synapse: SynapseServer,
    tg: BotApiServer,
) -> None:
    bot = await synapse.register(unique("bridge"), PASSWORD, displayname="Translocal")
    tg.add_member(CDMX, JONAS)  # a second member in CDMX
    async with member(synapse, "lena", display="Lena") as lena:
        berlin = await create_room(lena, invite=(bot,))
        cfg: dict[str, Any] = {
            "data_dir": str(tmp_path / "data"),
            "redis": {"url": redis_url, "shards": 4},
            "bots": [sandbox_bot("tg-a", TOKEN_A, tg.url), matrix_bot(synapse, bot)],
            "rooms": [
                {"id": "cdmx", "bot": "tg-a", "chat": CDMX, "language": "es", "label": "CDMX"},
                {"id": "berlin", "bot": "mx", "chat": berlin, "language": "de",
                 "label": "Berlin"},
            ],
            "circles": [{"id": "net", "rooms": ["cdmx", "berlin"]}],
            "callouts": [{"id": "blockade", "circles": ["net"], "at": "2030-05-01 18:00",
                          "mode": "instant", "tz": "UTC", "language": "en", "rsvp": True,
                          "text": "Eviction blockade at Calle 5", "report_to": "cdmx"}],
        }  # fmt: skip
        loaded = load_config(write_config(tmp_path / "rsvp.yaml", cfg), env={})
        clock = ManualClock(FIRE - timedelta(minutes=5))
        async with running_app(on_clock(loaded, clock)):
            await joined(lena, berlin, bot)
            clock.set(FIRE)

            def report() -> str:
                found = [t for t in tg_texts(tg, CDMX) if "blockade" in t and "CDMX:" in t]
                return found[-1] if found else ""

            await eventually(lambda: bool(report()), what="the report in CDMX")
            (copy_tg,) = [m for m in tg.messages(CDMX) if "Calle 5" in (m["text"] or "")
                          and "CDMX:" not in (m["text"] or "")]  # fmt: skip
            events = await lena.wait_for(
                berlin, lambda ev: any("Calle 5" in c["body"] for c in texts(ev, sender=bot))
            )
            copy_mx = next(
                e["event_id"] for e in events
                if e.get("sender") == bot and "Calle 5" in e.get("content", {}).get("body", "")
            )  # fmt: skip

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
            clock.advance(timedelta(seconds=61))
            await eventually(lambda: "Berlin: 1 vienen" in report(), timeout=60,
                             what="the report edited with the counts")  # fmt: skip
    text = report()
    assert "CDMX: 1 vienen, 1 quizás, 0 no vienen." in text
    assert "Berlin: 1 vienen, 0 quizás, 0 no vienen." in text


async def test_a_matrix_reaction_shows_on_the_copy_and_its_redaction_takes_it_back(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    """Reaction counts (carry_reactions) through a real Synapse: Lena's ✊ on the copy of
    Ana's message is counted and shown on the copy by an edit; her redaction of it (a delete
    of the reaction's event id, as the Matrix ingest gives it) takes it back."""
    bot = await synapse.register(unique("bridge"), PASSWORD, displayname="Translocal")
    async with member(synapse, "lena", display="Lena") as lena:
        berlin = await create_room(lena, invite=(bot,))
        cfg: dict[str, Any] = {
            "data_dir": str(tmp_path / "data"),
            "redis": {"url": redis_url, "shards": 4},
            "bots": [{"id": "mem", "platform": "memory"}, matrix_bot(synapse, bot)],
            "rooms": [
                {"id": "cdmx", "bot": "mem", "chat": "m1", "language": "en", "label": "CDMX"},
                {"id": "berlin", "bot": "mx", "chat": berlin, "language": "en",
                 "label": "Berlin"},
            ],
            "circles": [{"id": "net", "rooms": ["cdmx", "berlin"], "relay": "all",
                         "carry_reactions": True}],
        }  # fmt: skip
        loaded = load_config(write_config(tmp_path / "rx.yaml", cfg), env={})
        clock = ManualClock(FIRE)
        async with running_app(on_clock(loaded, clock)):
            await joined(lena, berlin, bot)
            origin = await NETWORK.bot("mem").post("m1", "Assembly at 7")
            events = await lena.wait_for(
                berlin, lambda ev: any("Assembly" in c["body"] for c in texts(ev, sender=bot))
            )
            copy = next(e["event_id"] for e in events if e.get("sender") == bot
                        and "Assembly" in e.get("content", {}).get("body", ""))  # fmt: skip
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
