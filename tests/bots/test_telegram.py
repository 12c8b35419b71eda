"""The Telegram adapter end to end: python-telegram-bot against the sandbox Bot API server."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.infra.logs import setup_logging, teardown_logging
from sandbox.telegram import BotApiServer
from tests.harness import eventually, running
from tests.helpers import sandbox_bot, write_config

TOKEN_A = "5000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
TOKEN_B = "5000002:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
CDMX, BERLIN, STRANGERS = -1001000000001, -1001000000002, -1001000000099
ANA, JONAS, MALLORY = 2001, 2002, 2099


@contextlib.asynccontextmanager
async def telegram_world() -> AsyncIterator[BotApiServer]:
    """Two bridge bots, each an admin of its group, and a member in each; a stranger's group."""
    server = BotApiServer(limits=False)
    async with server:
        server.add_bot(TOKEN_A, "cdmx_bridge_bot")
        server.add_bot(TOKEN_B, "berlin_bridge_bot")
        server.add_user(ANA, "Ana")
        server.add_user(JONAS, "Jonas")
        server.add_user(MALLORY, "Mallory")
        server.create_chat(CDMX, "Inquilinas CDMX")
        server.create_chat(BERLIN, "Mieter Berlin", is_forum=True)
        server.create_chat(STRANGERS, "Somebody else's group")
        for chat, bot, member in ((CDMX, 5000001, ANA), (BERLIN, 5000002, JONAS)):
            server.add_member(chat, bot, admin=True, announce=False)  # there already
            server.add_member(chat, member)
        server.add_member(STRANGERS, MALLORY)
        yield server


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with telegram_world() as server:
        yield server


def config(tmp_path: Path, redis_url: str, tg: BotApiServer, **extra: Any) -> Any:
    from bridge.config.load import load_config

    cfg: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url, "shards": 4},
        "bots": [
            sandbox_bot("tg-a", "${TOKEN_A}", tg.url),
            sandbox_bot("tg-b", "${TOKEN_B}", tg.url),
            {"id": "mem", "platform": "memory"},
        ],
        "rooms": [
            {"id": "cdmx", "bot": "tg-a", "chat": CDMX, "language": "es", "label": "CDMX"},
            {"id": "berlin", "bot": "tg-b", "chat": BERLIN, "language": "de", "label": "Berlin"},
            {"id": "nyc", "bot": "mem", "chat": "nyc", "language": "en", "label": "NYC"},
        ],
        "circles": [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": "all"}],
    }
    cfg.update(extra)
    return load_config(
        write_config(tmp_path / "tg.yaml", cfg), env={"TOKEN_A": TOKEN_A, "TOKEN_B": TOKEN_B}
    )


def texts(tg: BotApiServer, chat: int) -> list[str]:
    return [m["text"] for m in tg.messages(chat)]


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
    assert "/bot***" in logged  # python-telegram-bot did log its URLs, redacted
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
    rooms = [
        {"id": "cdmx", "bot": "tg-a", "chat": CDMX, "language": "es", "label": "CDMX"},
        {"id": "berlin", "bot": "tg-b", "chat": BERLIN, "topic": topic, "language": "de",
         "label": "Berlin"},
        {"id": "nyc", "bot": "mem", "chat": "nyc", "language": "en", "label": "NYC"},
    ]  # fmt: skip
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
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        tg.add_member(STRANGERS, 5000001, by=MALLORY)  # a stranger adds CDMX's bot
        await eventually(lambda: any("not configured" in (t or "") for t in texts(tg, STRANGERS)))
        tg.post(CDMX, ANA, "marca")
        await eventually(lambda: any("marca" in m.text for m in net.seen_in("nyc")))
    assert tg.world.chats[STRANGERS].status(5000001) == "left"
    assert not any("Mallory" in m.text for m in net.seen_in("nyc"))
    assert len([t for t in texts(tg, STRANGERS) if t and "not configured" in t]) == 1
