"""Issue 18's must-show, end to end on the sandbox Bot API and the real Synapse, with one
running bridge: a Berlin moderator invites, a new Telegram group in Porto links itself with
the code, messages cross both ways translated, with no restart; ``/unlink`` stops it. And a
group nobody links is left when its window passes (on an injected clock)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.app import App
from bridge.config.load import LoadedConfig, load_config
from sandbox.libretranslate import LibreTranslateServer
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.test_matrix import matrix_bot
from tests.bots.test_telegram_pending import Clock
from tests.harness import eventually, running_app
from tests.helpers import NO_LIMITS, sandbox_bot, write_config
from tests.synapse_fixture import PASSWORD, create_room, joined, member, texts, unique

TOKEN = "5000021:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
BOT = 5000021
PORTO, STRANGERS = -1001000000021, -1001000000022
RUI, ZE = 2021, 2022  # Porto's owner, and a member
PORTUGUESE = "Amanhã há um piquete contra o despejo na Rua das Flores."
GERMAN = "Morgen gibt es eine Mahnwache gegen die Räumung in der Blumenstraße."
REPLY_DE = "Wir kommen mit zwanzig Leuten."
REPLY_PT = "Vamos com vinte pessoas."
CODE = re.compile(r"tl-[A-Z0-9]{4}-[A-Z0-9]{2}")


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with BotApiServer(limits=False) as server:
        server.add_bot(TOKEN, "network_bridge_bot")
        server.add_user(RUI, "Rui", language_code="pt")
        server.add_user(ZE, "Zé")
        for chat, title in ((PORTO, "Inquilinos Porto"), (STRANGERS, "Outro grupo")):
            server.create_chat(chat, title)
            server.add_member(chat, RUI, owner=True, announce=False)
            server.add_member(chat, ZE, announce=False)
        yield server


@pytest.fixture
async def libre() -> AsyncIterator[LibreTranslateServer]:
    async with LibreTranslateServer() as server:
        server.add_phrases({PORTUGUESE: {"pt": PORTUGUESE, "de": GERMAN},
                            REPLY_DE: {"de": REPLY_DE, "pt": REPLY_PT}})  # fmt: skip
        yield server


def network(tmp_path: Path, redis_url: str, tg: BotApiServer, synapse: SynapseServer, bot: str,
            berlin: str, libre: LibreTranslateServer) -> LoadedConfig:  # fmt: skip
    """Berlin (Matrix) and NYC (in memory) in the circle "housing"; the Telegram bot is in no
    configured room yet."""
    cfg: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url, "shards": 4},
        "bots": [sandbox_bot("tg", TOKEN, tg.url), matrix_bot(synapse, bot),
                 {"id": "mem", "platform": "memory"}],
        "rooms": [
            {"id": "berlin", "bot": "mx", "chat": berlin, "language": "de", "label": "Berlin",
             "timezone": "Europe/Berlin"},
            {"id": "nyc", "bot": "mem", "chat": "nyc", "language": "en", "label": "NYC"},
        ],
        "circles": [{"id": "housing", "relay": "all", "rooms": ["berlin", "nyc"]}],
        "translation": {"providers": [{"name": "libretranslate", "url": libre.url}]},
        "limits": NO_LIMITS,
    }  # fmt: skip
    return load_config(write_config(tmp_path / "link.yaml", cfg), env={})


def porto(tg: BotApiServer) -> list[str]:
    return [m["text"] or "" for m in tg.messages(PORTO)]


async def test_a_berlin_moderator_invites_porto_links_itself_and_threads_cross_without_restart(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    synapse: SynapseServer,
    tg: BotApiServer,
    libre: LibreTranslateServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bridge.app")
    bot = await synapse.register(unique("bridge"), PASSWORD, displayname="Translocal")
    pid = os.getpid()
    async with member(synapse, "lena", display="Lena") as lena:
        berlin = await create_room(lena, invite=(bot,))  # Lena made it: power 100, a moderator
        app = App(network(tmp_path, redis_url, tg, synapse, bot, berlin, libre), lease_ms=1000)

        def from_bot(words: str) -> list[str]:
            events = lena.events.get(berlin, [])
            return [c["body"] for c in texts(events, sender=bot) if words in c["body"]]

        async with running_app(app):
            await joined(lena, berlin, bot)
            await lena.say(berlin, "!invite housing")
            await lena.wait_for(berlin, lambda _: any(CODE.search(b) for b in from_bot("tl-")))
            found = CODE.search(from_bot("tl-")[0])
            assert found is not None
            code = found.group(0)

            tg.add_member(PORTO, BOT, by=RUI)  # Porto's owner adds the bot: it waits
            await eventually(lambda: any("/link CODE" in t for t in porto(tg)))
            tg.post(PORTO, RUI, f"/link {code} pt Porto Europe/Lisbon")
            await eventually(lambda: len(porto(tg)) >= 2, what="the answer to /link")

            tg.post(PORTO, ZE, PORTUGUESE)
            await lena.wait_for(berlin, lambda _: bool(from_bot(GERMAN)))
            await lena.say(berlin, REPLY_DE)
            await eventually(lambda: any(REPLY_PT in t for t in porto(tg)), what="the reply")

            tg.post(PORTO, RUI, "/unlink")  # Porto's chat admin moderates its room
            await eventually(lambda: any("saiu" in t for t in porto(tg)), what="unlinked")
            tg.post(PORTO, ZE, "Depois do unlink: isto não deve sair daqui.")
            await eventually(lambda: tg.world.chats[PORTO].status(BOT) == "left")
            await lena.say(berlin, REPLY_DE)  # a marker: Berlin's room still works
            await lena.wait_for(berlin, lambda ev: len(texts(ev, sender=lena.user_id)) >= 3)
        running = [r for r in caplog.records if r.getMessage().startswith("translocal is running")]
    assert len(running) == 1  # one start: the bridge was never restarted
    assert os.getpid() == pid
    assert from_bot("Depois") == []  # Porto's message after the unlink never reached Berlin


async def test_a_group_nobody_links_is_left_when_its_window_passes(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    synapse: SynapseServer,
    tg: BotApiServer,
    libre: LibreTranslateServer,
) -> None:
    bot = await synapse.register(unique("bridge"), PASSWORD, displayname="Translocal")
    async with member(synapse, "lena") as lena:
        berlin = await create_room(lena, invite=(bot,))
        app = App(network(tmp_path, redis_url, tg, synapse, bot, berlin, libre), lease_ms=1000)
        clock = Clock()
        app.links_clock, app.pending_sweep_s = clock, 0.05
        async with running_app(app):
            tg.add_member(STRANGERS, BOT, by=RUI)
            await eventually(lambda: any("/link CODE" in (m["text"] or "")
                                         for m in tg.messages(STRANGERS)))  # fmt: skip
            clock.now += 15 * 60 + 1
            await eventually(lambda: tg.world.chats[STRANGERS].status(BOT) == "left")
    assert [c.chat_id for c in tg.calls if c.method == "leaveChat"] == [STRANGERS]
