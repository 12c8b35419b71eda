"""One end-to-end world for the tests that run the whole bridge between Telegram and Matrix.

The world: the sandbox Bot API server's groups (tests/bots/telegram_world.py: CDMX with Ana,
the ``tg`` fixture), the run's one Synapse (tests/synapse_fixture.py) with a fresh bridge user
and Lena's room "Berlin" in it (``matrix_side``), the sandbox LibreTranslate (``libre``), and
the bridge running over them on the shared Redis (``bridge_config`` and ``bridge``).

Why one place: each end-to-end test used to register the bot, make the room, write the config
and start and stop the bridge by hand, and took constants and fixtures from other test
modules. Here a test names only what differs: which rooms and bots, the circle's policy and
flags (``carry_reactions``...), call-outs and organizers, a room's language or timezone, a
clock. Nothing here starts a Synapse: a world is a registration and a room on the session's.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.app import App
from bridge.callouts.clock import Clock
from bridge.config.load import LoadedConfig, load_config
from bridge.model import keys
from sandbox.libretranslate import LibreTranslateServer
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import CDMX, ENV
from tests.harness import on_clock, running_app
from tests.helpers import NO_LIMITS, sandbox_bot, write_config
from tests.synapse_fixture import PASSWORD, Member, create_room, joined, member, texts, unique

RELAY_ALL: dict[str, Any] = {"id": "net", "relay": "all"}  # the circle: everything crosses
MEXICO_CITY, BERLIN_TZ = "America/Mexico_City", "Europe/Berlin"


@dataclass
class Matrix:
    """The Matrix side of a world: the bridge bot's user id, Lena (she made the room, so she
    has power 100: a moderator) and her room, where the bot is invited."""

    synapse: SynapseServer
    bot: str
    lena: Member
    room: str

    def bot_entry(self, **extra: Any) -> dict[str, Any]:
        """The bot ``mx`` of a config, as this world's bridge user."""
        return {"id": "mx", "platform": "matrix", "homeserver": self.synapse.url,
                "user_id": self.bot, "password": PASSWORD, "sync_timeout_ms": 1000,
                **extra}  # fmt: skip

    def room_entry(self, language: str = "de", **extra: Any) -> dict[str, Any]:
        """Lena's room as the config's room ``berlin`` (label "Berlin"), on the bot ``mx``."""
        return {"id": "berlin", "bot": "mx", "chat": self.room, "language": language,
                "label": "Berlin", **extra}  # fmt: skip

    def said(self, words: str) -> list[dict[str, Any]]:
        """The bot's messages Lena has seen in her room with ``words`` in their body."""
        events = self.lena.events.get(self.room, [])
        return [c for c in texts(events, sender=self.bot) if words in c["body"]]

    async def wait_said(self, words: str, seconds: float = 30) -> list[dict[str, Any]]:
        """Sync Lena until the bot has said ``words`` in her room; those messages."""
        await self.lena.wait_for(self.room, lambda _: bool(self.said(words)), seconds)
        return self.said(words)

    def event_of(self, words: str) -> str:
        """The event id of the bot's first message Lena has seen with ``words`` in it."""
        return next(
            e["event_id"] for e in self.lena.events.get(self.room, [])
            if e.get("sender") == self.bot and words in e.get("content", {}).get("body", "")
        )  # fmt: skip


@contextlib.asynccontextmanager
async def matrix_side(synapse: SynapseServer) -> AsyncIterator[Matrix]:
    """A fresh bridge user and Lena, logged in, with her room that the bot is invited to."""
    bot = await synapse.register(unique("bridge"), PASSWORD, displayname="Translocal")
    async with member(synapse, "lena", display="Lena") as lena:
        yield Matrix(synapse, bot, lena, await create_room(lena, invite=(bot,)))


def cdmx_room(bot: str = "tg-a", **extra: Any) -> dict[str, Any]:
    """The Telegram group CDMX (Spanish) as the config's room ``cdmx``."""
    return {"id": "cdmx", "bot": bot, "chat": CDMX, "language": "es", "label": "CDMX", **extra}


def telegram_bot(tg: BotApiServer, bot_id: str = "tg-a", token: str = "${TOKEN_A}") -> Any:
    """A Telegram bot of the config on the sandbox server (by default CDMX's bridge bot)."""
    return sandbox_bot(bot_id, token, tg.url)


def bridge_config(
    tmp_path: Path,
    redis_url: str,
    *,
    bots: list[Any],
    rooms: list[dict[str, Any]],
    circle: dict[str, Any] = RELAY_ALL,
    libre: LibreTranslateServer | None = None,
    **extra: Any,
) -> LoadedConfig:
    """The config of ``bots`` and ``rooms``, all in one ``circle`` (its id, policy and flags;
    the rooms are added), translated by ``libre`` when given, without member limits; ``extra``
    keys (callouts, organizers...) replace or add top-level keys."""
    cfg: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url, "shards": 4},
        "bots": bots,
        "rooms": rooms,
        "circles": [{**circle, "rooms": [r["id"] for r in rooms]}],
        "limits": NO_LIMITS,
    }
    if libre is not None:
        cfg["translation"] = {"providers": [{"name": "libretranslate", "url": libre.url}]}
    cfg.update(extra)
    return load_config(write_config(tmp_path / "e2e.yaml", cfg), env=ENV)


@contextlib.asynccontextmanager
async def bridge(
    what: LoadedConfig | App, matrix: Matrix | None = None, clock: Clock | None = None
) -> AsyncIterator[App]:
    """The bridge of ``what`` (a config, or an App a test has set up) running until the block
    ends, its call-outs on ``clock`` when given; with ``matrix``, from when its bot has joined
    Lena's room (what she sends from then on reaches the bridge)."""
    app = what if isinstance(what, App) else on_clock(what, clock)
    async with running_app(app):
        if matrix is not None:
            await joined(matrix.lena, matrix.room, matrix.bot)
        yield app


def tg_texts(tg: BotApiServer, chat: int) -> list[str]:
    """The texts (captions too) in a Telegram chat, "" for a message without one."""
    return [m["text"] or "" for m in tg.messages(chat)]


async def settled(
    redis_client: redis.asyncio.Redis, loaded: LoadedConfig, tg: BotApiServer, token: str
) -> bool:
    """Whether the bridge has taken every update of its Telegram bot ``token`` (a bot confirms
    an update only once it is in the inbox) and its inbox and outboxes are empty (an entry is
    deleted once relayed or delivered): what was sent before has crossed, or never will. A
    test waits for it before it asserts that something did not cross."""
    if tg.world.bots[token].updates:
        return False
    cfg = loaded.config
    streams = [keys.inbox(shard) for shard in range(cfg.redis.shards)]
    streams += [keys.outbox(bot.id) for bot in cfg.bots]
    return not any([await redis_client.xlen(stream) for stream in streams])


@dataclass
class World:
    """What an end-to-end test runs in: the shared Redis (emptied for the test), the run's
    Synapse, the Telegram world (``tg``: a module may override that fixture with its own
    groups) and the sandbox LibreTranslate."""

    tmp_path: Path
    redis_url: str
    redis: redis.asyncio.Redis
    synapse: SynapseServer
    tg: BotApiServer
    libre: LibreTranslateServer

    def matrix(self) -> contextlib.AbstractAsyncContextManager[Matrix]:
        return matrix_side(self.synapse)

    def config(
        self, *, bots: list[Any], rooms: list[dict[str, Any]], **options: Any
    ) -> LoadedConfig:
        """``bridge_config`` in this test's directory and Redis."""
        return bridge_config(self.tmp_path, self.redis_url, bots=bots, rooms=rooms, **options)

    async def settled(self, loaded: LoadedConfig, token: str) -> bool:
        return await settled(self.redis, loaded, self.tg, token)


@pytest.fixture
async def e2e(
    tmp_path: Path,
    redis_url: str,
    redis_client: redis.asyncio.Redis,
    synapse: SynapseServer,
    tg: BotApiServer,
    libre: LibreTranslateServer,
) -> World:
    """The end-to-end world of one test (tests/bots/conftest.py makes it a fixture there)."""
    return World(tmp_path, redis_url, redis_client, synapse, tg, libre)
