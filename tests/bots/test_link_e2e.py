"""Issue 18's must-show, end to end on the sandbox Bot API and the real Synapse, with one
running bridge: a Berlin moderator invites, a new Telegram group in Porto links itself with
the code, messages cross both ways translated, with no restart; ``/unlink`` stops it. And a
group nobody links is left when its window passes (on an injected clock)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator

import pytest

from bridge.app import App
from bridge.config.load import LoadedConfig
from sandbox.telegram import BotApiServer
from tests.bots.e2e_world import Matrix, World, bridge, telegram_bot, tg_texts
from tests.harness import LinksClock, eventually, eventually_async
from tests.synapse_fixture import texts

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


def network(e2e: World, mx: Matrix) -> LoadedConfig:
    """Berlin (Matrix) and NYC (in memory) in the circle "housing"; the Telegram bot is in no
    configured room yet."""
    e2e.libre.add_phrases({PORTUGUESE: {"pt": PORTUGUESE, "de": GERMAN},
                           REPLY_DE: {"de": REPLY_DE, "pt": REPLY_PT}})  # fmt: skip
    rooms = [
        mx.room_entry(timezone="Europe/Berlin"),
        {"id": "nyc", "bot": "mem", "chat": "nyc", "language": "en", "label": "NYC"},
    ]
    bots = [telegram_bot(e2e.tg, "tg", TOKEN), mx.bot_entry(), {"id": "mem", "platform": "memory"}]
    return e2e.config(bots=bots, rooms=rooms, libre=e2e.libre,
                      circle={"id": "housing", "relay": "all"})  # fmt: skip


def porto(tg: BotApiServer) -> list[str]:
    return tg_texts(tg, PORTO)


async def test_a_berlin_moderator_invites_porto_links_itself_and_threads_cross_without_restart(
    e2e: World, caplog: pytest.LogCaptureFixture
) -> None:
    tg = e2e.tg
    caplog.set_level(logging.INFO, logger="bridge.app")
    pid = os.getpid()
    async with e2e.matrix() as mx:  # Lena made the room: power 100, a moderator
        lena, berlin = mx.lena, mx.room
        loaded = network(e2e, mx)
        app = App(loaded, lease_ms=1000)

        def from_bot(words: str) -> list[str]:
            return [c["body"] for c in mx.said(words)]

        async with bridge(app, mx):
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
            await eventually_async(lambda: e2e.settled(loaded, TOKEN),
                                   what="Porto's last message taken and relayed")  # fmt: skip
            await lena.say(berlin, REPLY_DE)  # a marker: Berlin's room still works
            await lena.wait_for(berlin, lambda ev: len(texts(ev, sender=lena.user_id)) >= 3)
        running = [r for r in caplog.records if r.getMessage().startswith("translocal is running")]
    assert len(running) == 1  # one start: the bridge was never restarted
    assert os.getpid() == pid
    assert from_bot("Depois") == []  # Porto's message after the unlink never reached Berlin


async def test_a_group_nobody_links_is_left_when_its_window_passes(e2e: World) -> None:
    tg = e2e.tg
    async with e2e.matrix() as mx:
        app = App(network(e2e, mx), lease_ms=1000)
        clock = LinksClock()
        app.links_clock, app.pending_sweep_s = clock, 0.05
        async with bridge(app):
            tg.add_member(STRANGERS, BOT, by=RUI)
            await eventually(lambda: any("/link CODE" in (m["text"] or "")
                                         for m in tg.messages(STRANGERS)))  # fmt: skip
            clock.now += 15 * 60 + 1
            await eventually(lambda: tg.world.chats[STRANGERS].status(BOT) == "left")
    assert [c.chat_id for c in tg.calls if c.method == "leaveChat"] == [STRANGERS]
