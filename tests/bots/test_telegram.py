"""The Telegram adapter end to end: python-telegram-bot against the sandbox Bot API server."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio

from bridge.infra.logs import setup_logging, teardown_logging
from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import (
    ANA,
    BERLIN,
    CDMX,
    JONAS,
    MALLORY,
    STRANGERS,
    TOKEN_A,
    TOKEN_B,
    texts,
    world_rooms,
)
from tests.bots.telegram_world import telegram_world as telegram_world  # for tests/bots/test_ops.py
from tests.bots.telegram_world import world_config as config
from tests.harness import eventually, running


def test_importing_the_package_leaves_python_telegram_bot_unloaded() -> None:
    """The registry imports bots.telegram to learn the platform's facts, also where no
    Telegram bot is configured: python-telegram-bot loads only with a bot or a check."""
    probe = "import sys, bots.telegram; print('telegram' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert found.stdout.strip() == "False"


def test_the_reactions_are_telegrams_own() -> None:
    """The package writes Telegram's reactions out (so that registering loads no library):
    they are python-telegram-bot's, without variation selectors. A library that knows more
    reactions fails here: add them to bots/telegram/reactions.py."""
    from telegram.constants import ReactionEmoji

    from bots.telegram import REACTIONS

    assert frozenset(e.value.replace("\ufe0f", "") for e in ReactionEmoji) == REACTIONS
    assert "🕊" in REACTIONS
    assert "🌍" not in REACTIONS


def test_the_platform_declares_telegrams_facts() -> None:
    """What the core learns from the registration: person ids, commands, and limits counted
    as Telegram counts them."""
    from bots.telegram import PLATFORM

    assert PLATFORM.person("telegram:123456") is None
    assert PLATFORM.person("telegram:@ana") == "'telegram:@ana': a Telegram user id is a number"
    assert PLATFORM.command_prefix == "/"
    assert PLATFORM.text_limit.size == 4000
    assert PLATFORM.text_limit.measure("✊🏽 ok") == 6  # the emoji: 2 code points, 3 units
    assert PLATFORM.max_file == 20 * 1024 * 1024


async def test_a_member_message_arrives_attributed_in_telegram_and_elsewhere(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    setup_logging("text", "DEBUG")  # as `translocal run` does: every record is redacted
    caplog.set_level(logging.DEBUG)
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        original = tg.post(CDMX, ANA, "Bloqueo mañana a las 7")
        await eventually(lambda: len(tg.messages(BERLIN)) == 1 and bool(net.seen_in("nyc")))
        copy = tg.messages(BERLIN)[0]
        assert copy["text"].startswith("Ana (CDMX)\nBloqueo mañana a las 7")
        assert copy["author_id"] == 5000002  # posted by Berlin's bot
        bold = copy["entities"][0]
        assert (bold["type"], bold["offset"], bold["length"]) == ("bold", 0, len("Ana (CDMX)"))
        # service messages (members joining) never cross: the first copy is Ana's message
        assert net.seen_in("nyc")[0].text.startswith("Ana (CDMX): Bloqueo mañana a las 7")

        # Jonas replies to the copy in Berlin: a reply to Ana's own message in CDMX
        tg.post(BERLIN, JONAS, "Wir kommen", reply_to=copy["message_id"])
        await eventually(lambda: len(tg.messages(CDMX)) == 2)
        back = tg.messages(CDMX)[1]
        assert back["text"].startswith("Jonas (Berlin)\nWir kommen")
        assert back["reply_to"] == original["message_id"]

        # Ana fixes the time: the copy is edited
        tg.edit(CDMX, original["message_id"], "Bloqueo mañana a las 8")
        await eventually(lambda: "a las 8" in tg.messages(BERLIN)[0]["text"])
        assert tg.messages(BERLIN)[0]["edit_date"] is not None
    logged = "\n".join(r.getMessage() for r in caplog.records)
    # python-telegram-bot is held at WARNING (its DEBUG lines hold URLs and message texts)
    assert "Bloqueo" not in logged
    assert TOKEN_A.split(":")[1] not in logged
    assert TOKEN_B.split(":")[1] not in logged
    teardown_logging()
    logging.getLogger().setLevel(logging.DEBUG)  # the whole-run log check listens at DEBUG


async def test_hostile_formatting_arrives_as_text_never_as_markup(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    hostile = "<b>bold?</b> & <a href='javascript:alert(1)'>x</a> \u202eevil\u200b 🏳️‍🌈"
    entities = [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "italic", "offset": 90, "length": 5},
    ]
    async with running(config(tmp_path, redis_url, tg)) as _:
        tg.post(CDMX, ANA, hostile, entities=entities)
        await eventually(lambda: len(tg.messages(BERLIN)) == 1)
    copy = tg.messages(BERLIN)[0]
    assert hostile in copy["text"]  # shown literally, characters and all
    kinds = {e["type"] for e in copy["entities"]}
    assert "text_link" not in kinds  # nothing from the text became a link


async def test_long_messages_are_split_within_telegram_limits(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    sentences = " ".join(f"Frase número {i} de un mensaje muy largo." for i in range(180))
    async with running(config(tmp_path, redis_url, tg)) as _:
        tg.post(CDMX, ANA, sentences[:4080])  # with attribution and note, over 4,096: 2 parts
        tg.post(CDMX, ANA, "✊🏽" * 1300)  # 3 UTF-16 units each, 3,900 in all
        await eventually(lambda: len(tg.messages(BERLIN)) >= 3, timeout=30)
    parts = tg.messages(BERLIN)
    assert len(parts) == 3
    assert all(len(p["text"].encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert parts[0]["text"].startswith("Ana (CDMX)\nFrase número 0")
    assert sentences[:4080] in parts[0]["text"] + "\n" + parts[1]["text"]  # nothing lost
    joined = "".join(p["text"] for p in parts)
    assert joined.count("✊🏽") == 1300  # no emoji cut in half


async def test_forum_topics_receive_into_their_topic(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    topic = tg.create_topic(BERLIN, "Wohnen")
    rooms = world_rooms()
    rooms[1]["topic"] = topic  # the Berlin room is that topic of the group
    async with running(config(tmp_path, redis_url, tg, rooms=rooms)) as (_, net):
        tg.post(CDMX, ANA, "Asamblea el jueves")
        await eventually(lambda: any("Asamblea" in (t or "") for t in texts(tg, BERLIN)))
        copy = next(m for m in tg.messages(BERLIN) if "Asamblea" in (m["text"] or ""))
        assert copy["thread_id"] == topic
        tg.post(BERLIN, JONAS, "Im Thema", thread_id=topic)
        tg.post(BERLIN, JONAS, "Außerhalb des Themas")  # the general topic: not this room
        await eventually(lambda: any("Im Thema" in m.text for m in net.seen_in("nyc")))
        tg.post(CDMX, ANA, "marca")
        await eventually(lambda: any("marca" in m.text for m in net.seen_in("nyc")))
    assert not any("Außerhalb" in m.text for m in net.seen_in("nyc"))


async def test_an_unconfigured_group_is_told_and_left_and_nothing_crosses(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    # with invites off, as before issue 18 (else it waits for a link: test_telegram_pending)
    async with running(config(tmp_path, redis_url, tg, link={"invites": False})) as (_, net):
        tg.add_member(STRANGERS, 5000001, by=MALLORY)  # a stranger adds CDMX's bot
        await eventually(lambda: any("not configured" in (t or "") for t in texts(tg, STRANGERS)))
        tg.post(CDMX, ANA, "marca")
        await eventually(lambda: any("marca" in m.text for m in net.seen_in("nyc")))
    assert tg.world.chats[STRANGERS].status(5000001) == "left"
    assert not any("Mallory" in m.text for m in net.seen_in("nyc"))
    assert len([t for t in texts(tg, STRANGERS) if t and "not configured" in t]) == 1
