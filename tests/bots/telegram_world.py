"""The Telegram test world, built in one place for every test of the Telegram adapter.

The sandbox Bot API server holds two groups of the network, CDMX (Ana is a member) and Berlin
(a forum; Jonas is a member), each with its bridge bot there already as an admin, and a
stranger's group (Mallory's). ``world_config`` links the two groups with an in-memory room,
NYC, in one circle where everything crosses. The ``tg`` fixture (tests/bots/conftest.py) is
this world on a server without flood limits; a test of the limits builds it on its own server.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bridge.config.load import LoadedConfig, load_config
from sandbox.telegram import BotApiServer
from tests.helpers import NO_LIMITS, sandbox_bot, write_config

TOKEN_A = "5000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
TOKEN_B = "5000002:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
BOT_A, BOT_B = 5000001, 5000002  # the user ids of the bridge bots in CDMX and in Berlin
CDMX, BERLIN, STRANGERS = -1001000000001, -1001000000002, -1001000000099
ANA, JONAS, MALLORY = 2001, 2002, 2099
ENV = {"TOKEN_A": TOKEN_A, "TOKEN_B": TOKEN_B}


@contextlib.asynccontextmanager
async def telegram_world(server: BotApiServer | None = None) -> AsyncIterator[BotApiServer]:
    """The world on ``server`` (by default one without flood limits), started and stopped."""
    server = server if server is not None else BotApiServer(limits=False)
    async with server:
        server.add_bot(TOKEN_A, "cdmx_bridge_bot")
        server.add_bot(TOKEN_B, "berlin_bridge_bot")
        server.add_user(ANA, "Ana")
        server.add_user(JONAS, "Jonas")
        server.add_user(MALLORY, "Mallory")
        server.create_chat(CDMX, "Inquilinas CDMX")
        server.create_chat(BERLIN, "Mieter Berlin", is_forum=True)
        server.create_chat(STRANGERS, "Somebody else's group")
        for chat, bot, member in ((CDMX, BOT_A, ANA), (BERLIN, BOT_B, JONAS)):
            server.add_member(chat, bot, admin=True, announce=False)  # there already
            server.add_member(chat, member)
        server.add_member(STRANGERS, MALLORY)
        yield server


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with telegram_world() as server:
        yield server


def world_rooms(berlin: str = "de", nyc: str = "en") -> list[dict[str, Any]]:
    """The rooms: CDMX in Spanish, Berlin and NYC in the languages given."""
    return [
        {"id": "cdmx", "bot": "tg-a", "chat": CDMX, "language": "es", "label": "CDMX"},
        {"id": "berlin", "bot": "tg-b", "chat": BERLIN, "language": berlin, "label": "Berlin"},
        {"id": "nyc", "bot": "mem", "chat": "nyc", "language": nyc, "label": "NYC"},
    ]


def world_bots(tg: BotApiServer, **options: object) -> list[dict[str, Any]]:
    """The two bridge bots (tg-a, tg-b) with ``options`` (limits_scale=...), and mem."""
    return [
        sandbox_bot("tg-a", "${TOKEN_A}", tg.url, **options),
        sandbox_bot("tg-b", "${TOKEN_B}", tg.url, **options),
        {"id": "mem", "platform": "memory"},
    ]


def world_config(
    tmp_path: Path,
    redis_url: str,
    tg: BotApiServer,
    *,
    only: tuple[str, ...] = ("cdmx", "berlin", "nyc"),
    berlin: str = "de",
    nyc: str = "en",
    bot_options: dict[str, object] | None = None,
    **extra: Any,
) -> LoadedConfig:
    """The world's config: the rooms named in ``only`` (Berlin and NYC in the languages
    given), their bots (with ``bot_options``), one circle where everything crosses; ``extra``
    keys replace or add top-level keys."""
    rooms = [r for r in world_rooms(berlin, nyc) if r["id"] in only]
    used = {r["bot"] for r in rooms}
    cfg: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url, "shards": 4},
        "bots": [b for b in world_bots(tg, **(bot_options or {})) if b["id"] in used],
        "rooms": rooms,
        "circles": [{"id": "net", "rooms": [r["id"] for r in rooms], "relay": "all"}],
        "limits": NO_LIMITS,
    }
    cfg.update(extra)
    return load_config(write_config(tmp_path / "tg.yaml", cfg), env=ENV)


def texts(tg: BotApiServer, chat: int) -> list[str]:
    return [m["text"] for m in tg.messages(chat)]


@contextlib.asynccontextmanager
async def one_group(
    token: str, username: str, chat: int, member: int, admin: int
) -> AsyncIterator[BotApiServer]:
    """A sandbox Bot API server with one group ("Inquilinas CDMX"): the bridge bot in it as
    an admin, ``member`` ("Ana") and the group's admin ``admin`` ("Beto")."""
    server = BotApiServer(limits=False)
    async with server:
        server.add_bot(token, username)
        server.add_user(member, "Ana")
        server.add_user(admin, "Beto")
        server.create_chat(chat, "Inquilinas CDMX")
        server.add_member(chat, int(token.split(":", 1)[0]), admin=True)
        server.add_member(chat, member)
        server.add_member(chat, admin, admin=True)
        yield server
