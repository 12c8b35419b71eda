"""Polls through the real Telegram adapter and the sandbox Bot API server: a member's poll in
CDMX crosses as a native poll in Berlin (German, through the sandbox LibreTranslate) and as a
numbered list in NYC (the in-memory room); Telegram's own counts of the bot's poll come back
and ``/poll results`` shows them per city. Hostile cases first: a vote on the member's own poll
is never heard of by the bot; a chat that refuses polls gets the numbered list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio
from telegram.constants import PollLimit

from bridge.model.envelope import POLL_OPTION, POLL_OPTIONS, POLL_QUESTION
from sandbox.libretranslate import LibreTranslateServer
from sandbox.telegram import BotApiServer, polls
from tests.bots.telegram_world import ANA, BERLIN, CDMX, JONAS, world_config
from tests.harness import committed, eventually, running

QUESTION, YES, NO = "¿Bloqueamos el jueves?", "Sí, el jueves", "Mejor el viernes"
GERMAN = {QUESTION: "Blockieren wir am Donnerstag?", YES: "Ja, Donnerstag",
          NO: "Lieber Freitag"}  # fmt: skip


@pytest.fixture
async def libre() -> AsyncIterator[LibreTranslateServer]:
    async with LibreTranslateServer() as server:
        server.add_phrases({es: {"es": es, "de": de} for es, de in GERMAN.items()})
        yield server


def test_the_networks_poll_limits_are_telegrams() -> None:
    assert POLL_QUESTION == PollLimit.MAX_QUESTION_LENGTH
    assert POLL_OPTION == PollLimit.MAX_OPTION_LENGTH
    assert POLL_OPTIONS == PollLimit.MAX_OPTION_NUMBER


def _polls(tg: BotApiServer, chat: int) -> list[dict[str, object]]:
    return [m for m in tg.messages(chat) if m["kind"] == "poll"]


async def test_a_telegram_poll_crosses_translated_and_its_votes_come_back_per_city(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    tg: BotApiServer,
    libre: LibreTranslateServer,
) -> None:
    translation = {"providers": [{"name": "libretranslate", "url": libre.url}]}
    loaded = world_config(tmp_path, redis_url, tg, translation=translation)
    async with running(loaded) as (_, net):
        original = polls.post_poll(tg.world, CDMX, ANA, QUESTION, [YES, NO])
        await eventually(lambda: bool(_polls(tg, BERLIN)) and bool(net.seen_in("nyc")))
        await committed(net, bots=[bot.id for bot in loaded.config.bots])
        copy = _polls(tg, BERLIN)[0]
        poll = copy["poll"]
        assert isinstance(poll, dict)
        assert poll["question"] == f"Ana (CDMX): {GERMAN[QUESTION]}"
        assert [o["text"] for o in poll["options"]] == [GERMAN[YES], GERMAN[NO]]
        assert "1. [en] Sí, el jueves" in net.seen_in("nyc")[0].text  # no native poll in memory

        # a vote on the member's own poll: Telegram tells no bot, nothing is counted
        polls.vote(tg.world, CDMX, int(str(original["message_id"])), ANA, [0])
        polls.vote(tg.world, BERLIN, int(str(copy["message_id"])), JONAS, [0])
        polls.vote(tg.world, BERLIN, int(str(copy["message_id"])), JONAS, [1])  # changed his mind
        nyc_copy = net.seen_in("nyc")[0].id
        await net.bot("mem").command("nyc", "vote", "2", reply_to=nyc_copy, who="leo")
        await eventually(lambda: any("counted" in m.text for m in net.seen_in("nyc")))
        tg.post(BERLIN, JONAS, "/poll results", reply_to=int(str(copy["message_id"])))
        await eventually(
            lambda: any("Umfrageergebnis" in str(t["text"]) for t in tg.messages(BERLIN))
        )
    answer = next(
        str(m["text"]) for m in tg.messages(BERLIN) if "Umfrageergebnis" in str(m["text"])
    )
    assert "2 Personen haben im Netzwerk abgestimmt" in answer
    # each poll the bot sent is remembered under its own key, which expires on its own: one
    # hash of every poll, its expiry renewed by each new one, would never expire in a busy
    # network
    assert not await redis_client.keys("tl:bot:*:polls")
    remembered = await redis_client.keys("tl:bot:*:poll:*")
    assert remembered
    ttls = [await redis_client.ttl(k) for k in remembered]
    assert all(0 < ttl <= 90 * 86400 for ttl in ttls)
    assert "Antwort 1: 0 Stimmen" in answer
    assert "Antwort 2: 2 Stimmen (Berlin 1, NYC 1)" in answer


async def test_a_chat_that_refuses_polls_gets_the_numbered_list(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    polls.refuse_polls(tg.world, BERLIN)
    async with running(world_config(tmp_path, redis_url, tg)):
        polls.post_poll(tg.world, CDMX, ANA, QUESTION, [YES, NO])
        await eventually(lambda: bool(tg.messages(BERLIN)))
    shown = tg.messages(BERLIN)
    assert [m["kind"] for m in shown] == ["text"]
    assert "1. Sí, el jueves" in str(shown[0]["text"])
    assert "/vote N" in str(shown[0]["text"])
