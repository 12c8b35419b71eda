"""A Matrix room that invites the bot without being configured or linked (issue 18): it waits
for ``!link``, carries nothing, and is left when its window passes; an invite from a refused
server is declined. The real adapter on the shared Synapse; the bridge's answer to ``!link``
is the recording stand-in of test_telegram_pending.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from nio import RoomCreateResponse, RoomPreset

from bots.matrix.bot import MatrixBot
from bridge.app import adapters
from bridge.model.links import PENDING_PER_ADDER
from bridge.model.ports import BotContext
from sandbox.synapse import SynapseServer
from tests.bots.test_matrix import bot_user, config, matrix_bot
from tests.bots.test_telegram_pending import Bridge
from tests.harness import LinksClock, eventually
from tests.synapse_fixture import Member, create_room, joined, knows_devices, member, texts

LINK_HELP = "!link CODE <language> <label> [timezone]"


@asynccontextmanager
async def matrix(
    tmp_path: Path, redis_client: redis.asyncio.Redis, synapse: SynapseServer, bot: str,
    bridge: Bridge, clock: LinksClock, **options: Any,
) -> AsyncIterator[MatrixBot]:  # fmt: skip
    """The bot, serving one configured room elsewhere, its pending chats on ``clock``."""
    adapters(["matrix"])
    room = {"id": "berlin", "bot": "mx", "chat": "!berlin:localhost", "language": "de",
            "label": "Berlin"}  # fmt: skip
    other = {**room, "id": "wien", "chat": "!wien:localhost", "label": "Wien"}
    loaded = config(tmp_path, "redis://unused", [matrix_bot(synapse, bot, sync_timeout_ms=300)],
                    [room, other])  # fmt: skip
    ctx = BotContext(loaded.config.bots[0], loaded.config.rooms[:1], redis_client,
                     tmp_path / "data", bridge.emit, link=bridge.link, clock=clock,
                     pending_sweep_s=0.05, **options)  # fmt: skip
    adapter = MatrixBot(ctx)
    await adapter.start()
    try:
        yield adapter
    finally:
        await adapter.stop()
        await adapter.close()


def notes(person: Member, room_id: str, bot: str) -> list[str]:
    return [str(c.get("body")) for c in texts(person.events.get(room_id, []), sender=bot)]


async def test_an_unlinked_room_waits_for_an_admins_link_and_carries_nothing_meanwhile(
    tmp_path: Path, redis_client: redis.asyncio.Redis, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    bridge, clock = Bridge(), LinksClock()
    async with member(synapse, "rui", display="Rui") as rui, \
               member(synapse, "ze", display="Zé") as ze, \
               matrix(tmp_path, redis_client, synapse, bot, bridge, clock):  # fmt: skip
        porto = await create_room(rui, ze, invite=(bot,))  # Rui made it: power level 100
        await joined(rui, porto, bot)
        await rui.wait_for(porto, lambda _: any(LINK_HELP in n for n in notes(rui, porto, bot)))
        await ze.say(porto, "A morada do Zé é Rua das Flores 12")
        await ze.say(porto, "!link tl-AAAA-AA pt Porto")  # not an admin
        refused = "Only an admin of this chat can link it."
        await rui.wait_for(porto, lambda _: refused in notes(rui, porto, bot))
        assert [r.admin for r in bridge.requests] == [False]
        assert bridge.from_chat(porto) == []
        await rui.say(porto, "!link tl-AAAA-AA pt Porto Europe/Lisbon")
        await rui.wait_for(porto, lambda _: "Linked." in notes(rui, porto, bot))
        assert bridge.requests[-1].admin
        assert bridge.requests[-1].sender == f"matrix:{rui.user_id}"
        await ze.say(porto, "Olá Berlim")  # linked: served at once
        await eventually(lambda: any(e.text == "Olá Berlim" for e in bridge.envelopes))
        assert not any("Flores" in e.text for e in bridge.envelopes)
        assert len([n for n in notes(rui, porto, bot) if LINK_HELP in n]) == 1


async def test_a_room_nobody_links_is_left_when_its_window_passes(
    tmp_path: Path, redis_client: redis.asyncio.Redis, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    bridge, clock = Bridge(), LinksClock()
    async with member(synapse, "rui") as rui, \
               matrix(tmp_path, redis_client, synapse, bot, bridge, clock):  # fmt: skip
        porto = await create_room(rui, invite=(bot,))
        await joined(rui, porto, bot)
        await rui.wait_for(porto, lambda _: any(LINK_HELP in n for n in notes(rui, porto, bot)))
        clock.now += 15 * 60 + 1

        def left(_: list[dict[str, Any]]) -> bool:
            room = rui.client.rooms.get(porto)
            return room is not None and bot not in room.users

        await rui.wait_for(porto, left)
        assert await redis_client.zcard("tl:pending:mx") == 0


async def test_an_invite_from_a_refused_server_is_declined_at_once(
    tmp_path: Path, redis_client: redis.asyncio.Redis, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    bridge, clock = Bridge(), LinksClock()
    async with member(synapse, "mallory") as mallory, \
               matrix(tmp_path, redis_client, synapse, bot, bridge, clock,
                      refuse_servers=frozenset({"localhost"})):  # fmt: skip
        room = await create_room(mallory, invite=(bot,))

        def declined(events: list[dict[str, Any]]) -> bool:
            return any(e.get("type") == "m.room.member" and e.get("state_key") == bot
                       and (e.get("content") or {}).get("membership") == "leave"
                       for e in events)  # fmt: skip

        await mallory.wait_for(room, declined)
    assert bot_membership(mallory.events[room], bot) == ["invite", "leave"]  # never joined
    assert not notes(mallory, room, bot)
    assert await redis_client.zcard("tl:pending:mx") == 0


def bot_membership(events: list[dict[str, Any]], bot: str) -> list[str]:
    """The bot's memberships in a room, in order, as its members saw them."""
    return [str((e.get("content") or {}).get("membership")) for e in events
            if e.get("type") == "m.room.member" and e.get("state_key") == bot]  # fmt: skip


async def test_a_direct_message_invite_is_declined_at_once_without_joining(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    synapse: SynapseServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Anyone on the federation can open a DM with the bot; a room is linked from a group
    room by its admins, so the bot declines at once: it never joins, says nothing, and the
    room takes none of the pending places."""
    caplog.set_level(logging.INFO, logger="bots")
    bot = await bot_user(synapse)
    bridge, clock = Bridge(), LinksClock()
    async with member(synapse, "mallory") as mallory, \
               matrix(tmp_path, redis_client, synapse, bot, bridge, clock):  # fmt: skip
        created = await mallory.client.room_create(
            invite=[bot], is_direct=True, preset=RoomPreset.trusted_private_chat
        )
        assert isinstance(created, RoomCreateResponse), created
        dm = str(created.room_id)
        await mallory.wait_for(dm, lambda events: "leave" in bot_membership(events, bot))
        assert bot_membership(mallory.events[dm], bot) == ["invite", "leave"]
        assert not notes(mallory, dm, bot)
        assert await redis_client.zcard("tl:pending:mx") == 0
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("bots.")]
    assert len([line for line in ours if dm in line]) == 1  # declined, said once
    assert not [line for line in ours if "mallory" in line]


async def test_a_flood_of_group_invites_from_one_user_is_declined_without_joining(
    tmp_path: Path, redis_client: redis.asyncio.Redis, synapse: SynapseServer
) -> None:
    """One user inviting the bot to more group rooms than one user may keep waiting
    (``PENDING_PER_ADDER``, 3), to hold the bot's places: the first wait, the rest are
    declined at once, never joined. (The bot's own limit, ``PENDING_MAX``, is the model's
    test: tests/bridge/test_pending_chats.py.)"""
    bot = await bot_user(synapse)
    bridge, clock = Bridge(), LinksClock()
    async with member(synapse, "mallory") as mallory, \
               matrix(tmp_path, redis_client, synapse, bot, bridge, clock):  # fmt: skip
        rooms = [await create_room(mallory, invite=(bot,)) for _ in range(PENDING_PER_ADDER + 2)]
        for room in rooms:
            await mallory.wait_for(room, lambda events: len(bot_membership(events, bot)) > 1)
        seen = [bot_membership(mallory.events[room], bot) for room in rooms]
        assert seen.count(["invite", "join"]) == PENDING_PER_ADDER
        assert seen.count(["invite", "leave"]) == 2
        assert await redis_client.zcard("tl:pending:mx") == PENDING_PER_ADDER


async def test_in_an_encrypted_pending_room_the_link_is_read_and_nothing_else(
    tmp_path: Path, redis_client: redis.asyncio.Redis, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    bridge, clock = Bridge(), LinksClock()
    async with member(synapse, "rui", store=tmp_path / "rui") as rui, \
               matrix(tmp_path, redis_client, synapse, bot, bridge, clock):  # fmt: skip
        porto = await create_room(rui, invite=(bot,), encrypted=True)
        await joined(rui, porto, bot)
        await rui.wait_for(porto, lambda _: any(LINK_HELP in n for n in notes(rui, porto, bot)))
        await knows_devices(rui, bot)
        await rui.say(porto, "Segredo: a reunião é na Rua das Flores 12")
        await rui.say(porto, "!link tl-AAAA-AA pt Porto")
        await rui.wait_for(porto, lambda _: "Linked." in notes(rui, porto, bot))
    assert bridge.requests[0].admin
    assert not any("Segredo" in e.text for e in bridge.envelopes)


async def test_a_direct_message_invite_waiting_before_the_bots_first_start_is_declined(
    tmp_path: Path, redis_client: redis.asyncio.Redis, synapse: SynapseServer
) -> None:
    """The invite came while the bot had never run: its first sync (which takes rooms as
    they are) must still see it as a DM, not join it as a pending room."""
    bot = await bot_user(synapse)
    bridge, clock = Bridge(), LinksClock()
    async with member(synapse, "mallory") as mallory:
        created = await mallory.client.room_create(
            invite=[bot], is_direct=True, preset=RoomPreset.trusted_private_chat
        )
        assert isinstance(created, RoomCreateResponse), created
        dm = str(created.room_id)
        async with matrix(tmp_path, redis_client, synapse, bot, bridge, clock):
            await mallory.wait_for(dm, lambda events: "leave" in bot_membership(events, bot))
        assert bot_membership(mallory.events[dm], bot) == ["invite", "leave"]
        assert await redis_client.zcard("tl:pending:mx") == 0
