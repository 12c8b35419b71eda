"""A Telegram group that adds the bot without being configured or linked (issue 18): it waits
for a link, carries nothing, and is left when its window passes. The real adapter against the
sandbox Bot API; the bridge's answer to ``/link`` is a recording stand-in (the real Linker is
tested with the commands, and end to end in test_link_e2e.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis.asyncio

from bots.telegram.bot import TelegramBot
from bridge.app import adapters
from bridge.model.envelope import Envelope
from bridge.model.i18n import _
from bridge.model.links import LinkAnswer, LinkRequest
from bridge.model.ports import BotContext
from bridge.model.settings import RoomConfig
from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import ANA, BOT_A, CDMX, texts, world_config
from tests.harness import LinksClock, eventually, eventually_async

PORTO = -1001000000351
RUI, ZE = 2351, 2352  # Porto's owner (app in Portuguese) and a member
LINK_HELP = "/link CODE <language> <label> [timezone]"


@dataclass
class Bridge:
    """The bridge as the bot sees it: what it emitted, the link requests, and its answer."""

    envelopes: list[Envelope] = field(default_factory=list)
    requests: list[LinkRequest] = field(default_factory=list)

    async def emit(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    async def link(self, request: LinkRequest) -> LinkAnswer:
        self.requests.append(request)
        if not request.admin:
            return LinkAnswer(_("Only an admin of this chat can link it."), "en")
        room = RoomConfig(id="porto", bot=request.bot, chat=request.chat, language="pt",
                          label="Porto")  # fmt: skip
        return LinkAnswer(_("Linked."), "en", room)

    def from_chat(self, chat: int | str) -> list[Envelope]:
        return [e for e in self.envelopes if e.chat == str(chat)]


@dataclass
class World:
    tg: BotApiServer
    bot: TelegramBot
    bridge: Bridge
    clock: LinksClock


@pytest.fixture
async def world(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> AsyncIterator[World]:
    adapters(["telegram"])
    loaded = world_config(tmp_path, redis_url, tg, only=("cdmx", "nyc"))
    tg.add_user(RUI, "Rui", language_code="pt-PT")
    tg.add_user(ZE, "Zé")
    tg.create_chat(PORTO, "Inquilinos Porto")
    tg.add_member(PORTO, RUI, owner=True, announce=False)
    tg.add_member(PORTO, ZE, announce=False)
    bridge, clock = Bridge(), LinksClock()
    ctx = BotContext(loaded.config.bots[0], loaded.config.rooms_of("tg-a"), redis_client,
                     tmp_path / "data", bridge.emit, link=bridge.link, clock=clock,
                     pending_sweep_s=0.02)  # fmt: skip
    bot = TelegramBot(ctx)
    await bot.start()
    try:
        yield World(tg, bot, bridge, clock)
    finally:
        await bot.stop()
        await bot.close()


def waiting_notes(tg: BotApiServer, chat: int) -> list[str]:
    return [t for t in texts(tg, chat) if t and LINK_HELP in t]


async def marker(w: World) -> None:
    """A message in CDMX (configured) reaches the bridge: every update before it was read."""
    w.tg.post(CDMX, ANA, f"marca {len(w.bridge.envelopes)}")
    await eventually(lambda: any("marca" in e.text for e in w.bridge.envelopes))


async def test_an_unlinked_group_is_told_once_how_to_link_it_and_nothing_of_it_is_carried(
    world: World,
) -> None:
    tg, bridge = world.tg, world.bridge
    tg.add_member(PORTO, BOT_A, by=RUI)
    await eventually(lambda: bool(waiting_notes(tg, PORTO)))
    note = waiting_notes(tg, PORTO)[0]
    assert "Um administrador deste chat" in note  # Rui's app is in Portuguese
    assert "An admin of this chat can link it" in note  # and English for everyone else
    assert "/invite" in note
    assert "15 minutes" in note
    tg.post(PORTO, ZE, "A morada do Zé é Rua das Flores 12")
    tg.post(PORTO, ZE, "foto", photo=b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    tg.remove_member(PORTO, BOT_A, by=RUI)  # kicked and added again: no new window, no new text
    tg.add_member(PORTO, BOT_A, by=RUI)
    await marker(world)
    assert bridge.from_chat(PORTO) == []
    assert not [c for c in tg.calls if c.method == "getFile"]
    assert len(waiting_notes(tg, PORTO)) == 1
    assert tg.world.chats[PORTO].status(BOT_A) == "member"  # it waits


async def test_a_forged_my_chat_member_for_a_configured_chat_changes_nothing(
    world: World, redis_client: redis.asyncio.Redis
) -> None:
    tg = world.tg
    chat = {"id": CDMX, "type": "supergroup", "title": "Inquilinas CDMX"}
    me = {"id": BOT_A, "is_bot": True, "first_name": "cdmx_bridge_bot"}
    state = tg.world.bot_state(BOT_A)
    assert state is not None
    tg.world.enqueue(state, "my_chat_member", {
        "chat": chat, "from": {"id": ANA, "is_bot": False, "first_name": "Ana"}, "date": 1,
        "old_chat_member": {"status": "left", "user": me},
        "new_chat_member": {"status": "member", "user": me},
    })  # fmt: skip
    await marker(world)
    assert waiting_notes(tg, CDMX) == []
    assert tg.world.chats[CDMX].status(BOT_A) == "administrator"
    assert not [c for c in tg.calls if c.method == "leaveChat"]
    assert await redis_client.zcard("tl:pending:tg-a") == 0


async def test_twenty_chats_wait_and_the_twenty_first_is_left_at_once(world: World) -> None:
    tg = world.tg
    chats = [-1001000000400 - i for i in range(21)]
    for n, chat in enumerate(chats):
        adder = 7100 + n // 3  # three chats each: what one user may keep waiting
        if n % 3 == 0:
            tg.add_user(adder, f"Admin {n // 3}")
        tg.create_chat(chat, f"Grupo {chat}")
        tg.add_member(chat, adder, owner=True, announce=False)
        tg.add_member(chat, BOT_A, by=adder)
    await eventually(lambda: [c for c in tg.calls if c.method == "leaveChat"] != [], timeout=30)
    await eventually(lambda: sum(bool(waiting_notes(tg, c)) for c in chats) == 20, timeout=30)
    left = [c.chat_id for c in tg.calls if c.method == "leaveChat"]
    assert len(left) == 1
    assert not waiting_notes(tg, left[0])
    assert any("Too many chats are waiting" in (t or "") for t in texts(tg, left[0]))
    assert tg.world.chats[left[0]].status(BOT_A) == "left"


async def test_one_user_adding_the_bot_to_a_fourth_group_is_left_at_once(world: World) -> None:
    """Groups of her own, made to hold the bot's places and block real links: three wait, the
    fourth is left at once; another user's group still waits."""
    tg = world.tg
    chats = [-1001000000500 - i for i in range(4)]
    for chat in chats:
        tg.create_chat(chat, f"Spam {chat}")
        tg.add_member(chat, ZE, owner=True, announce=False)
        tg.add_member(chat, BOT_A, by=ZE)
    tg.add_member(PORTO, BOT_A, by=RUI)
    await eventually(lambda: bool(waiting_notes(tg, PORTO)), what="Porto waits")
    await eventually(lambda: [c for c in tg.calls if c.method == "leaveChat"] != [])
    left = [c.chat_id for c in tg.calls if c.method == "leaveChat"]
    assert left == [chats[3]]
    assert any("places free up within 15 minutes" in (t or "") for t in texts(tg, chats[3]))
    assert sum(bool(waiting_notes(tg, c)) for c in chats) == 3
    assert tg.world.chats[chats[3]].status(BOT_A) == "left"

    def leaves() -> int:
        return sum(c.chat_id == chats[3] for c in tg.calls if c.method == "leaveChat")

    for n in range(2, 6):  # added again and again: left each time, told once an hour
        tg.add_member(chats[3], BOT_A, by=ZE)
        await eventually(lambda n=n: leaves() == n, what="left again")
    told = [t for t in texts(tg, chats[3]) if "places free up" in (t or "")]
    assert len(told) == 1


async def test_with_invites_off_a_group_that_adds_the_bot_again_is_left_each_time_told_once(
    world: World,
) -> None:
    """``link.invites: false``: the bot leaves an unconfigured group at once, every time it is
    added (before, a second add within the hour found it already told, and it stayed in the
    group), and says so once an hour."""
    tg = world.tg
    world.bot.ctx.pending_limit = 0  # as the app sets it with link.invites: false

    def leaves() -> int:
        return sum(c.chat_id == PORTO for c in tg.calls if c.method == "leaveChat")

    for n in range(1, 4):
        tg.add_member(PORTO, BOT_A, by=RUI)
        await eventually(lambda n=n: leaves() == n, what="left again")
    told = [t for t in texts(tg, PORTO) if "not configured for this chat" in (t or "")]
    assert len(told) == 1


async def test_link_by_a_member_who_is_not_an_admin_says_so_and_the_chat_stays_unserved(
    world: World,
) -> None:
    tg, bridge = world.tg, world.bridge
    tg.add_member(PORTO, BOT_A, by=RUI)
    await eventually(lambda: bool(waiting_notes(tg, PORTO)))
    tg.post(PORTO, ZE, "/link tl-AAAA-AA pt Porto")
    await eventually(lambda: bool(bridge.requests))
    request = bridge.requests[0]
    assert (request.chat, request.sender, request.admin) == (str(PORTO), f"telegram:{ZE}", False)
    assert request.args == "tl-AAAA-AA pt Porto"
    await eventually(lambda: "Only an admin of this chat can link it." in texts(tg, PORTO))
    tg.post(PORTO, ZE, "ainda aqui")
    await marker(world)
    assert bridge.from_chat(PORTO) == []


async def test_link_by_the_owner_serves_the_chat_at_once(world: World) -> None:
    tg, bridge = world.tg, world.bridge
    tg.add_member(PORTO, BOT_A, by=RUI)
    await eventually(lambda: bool(waiting_notes(tg, PORTO)))
    tg.post(PORTO, RUI, "/link@cdmx_bridge_bot tl-AAAA-AA pt Porto Europe/Lisbon")
    await eventually(lambda: "Linked." in texts(tg, PORTO))
    request = bridge.requests[0]
    assert (request.admin, request.hint, request.name) == (True, "pt-PT", "Rui")
    tg.post(PORTO, ZE, "Olá Berlim")
    await eventually(lambda: any(e.text == "Olá Berlim" for e in bridge.from_chat(PORTO)))
    world.clock.now += 3600  # its window would have passed: it is linked, so it stays
    await marker(world)
    assert tg.world.chats[PORTO].status(BOT_A) == "member"


async def test_a_link_for_another_bot_is_not_read(world: World) -> None:
    tg, bridge = world.tg, world.bridge
    tg.add_member(PORTO, BOT_A, by=RUI)
    await eventually(lambda: bool(waiting_notes(tg, PORTO)))
    tg.post(PORTO, RUI, "/link@someone_else_bot tl-AAAA-AA pt Porto")
    await marker(world)
    assert bridge.requests == []


async def test_the_bot_leaves_a_group_nobody_linked_once_its_window_passes(
    world: World, redis_client: redis.asyncio.Redis
) -> None:
    tg = world.tg
    tg.add_member(PORTO, BOT_A, by=RUI)
    await eventually(lambda: bool(waiting_notes(tg, PORTO)))
    world.clock.now += 14 * 60
    await marker(world)
    assert tg.world.chats[PORTO].status(BOT_A) == "member"  # 14 minutes: still waiting
    world.clock.now += 61
    await eventually(lambda: tg.world.chats[PORTO].status(BOT_A) == "left")
    assert [c.chat_id for c in tg.calls if c.method == "leaveChat"] == [PORTO]
    await eventually_async(lambda: _empty(redis_client))


async def _empty(redis_client: redis.asyncio.Redis) -> bool:
    return await redis_client.zcard("tl:pending:tg-a") == 0


async def test_serve_reads_the_rooms_given_and_no_other(world: World) -> None:
    tg, bridge, bot = world.tg, world.bridge, world.bot
    tg.add_member(PORTO, BOT_A, admin=True, announce=False)  # there already, as an admin
    porto = RoomConfig(id="porto", bot="tg-a", chat=str(PORTO), language="pt", label="Porto")
    await bot.serve([porto])
    tg.post(PORTO, ZE, "Olá")
    await eventually(lambda: any(e.text == "Olá" for e in bridge.from_chat(PORTO)))
    tg.post(CDMX, ANA, "¿Hola?")  # CDMX is served no more: told so, and left
    await eventually(lambda: tg.world.chats[CDMX].status(BOT_A) == "left")
    assert not any(e.text == "¿Hola?" for e in bridge.envelopes)
