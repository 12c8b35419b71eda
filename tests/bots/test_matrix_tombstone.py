"""An encrypted Matrix room upgraded into one that is not encrypted (issue 17, point 9),
through the real Matrix adapter on Synapse.

The rule: a room that is not encrypted never receives a copy from an encrypted origin unless
the circle allows it (``allow_unencrypted``). A moderator of an encrypted target room can send
``m.room.tombstone`` pointing at a new room of their own making, encrypted or not; the bot
follows the tombstone (bots/matrix/membership.py) and the chat is that new room from then on.
Until the new room shows encryption, the chat leaves the encrypted set: a thread from an
encrypted origin is held (the origin room is told why, names only) and reaches neither the
new room nor the old one. When the new room is encrypted, the copies go there, encrypted.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from nio import RoomMessagesResponse, RoomPutStateResponse

from bridge.model import keys
from sandbox.synapse import SynapseServer
from tests.bots.test_matrix import bot_user, config, from_bot, matrix_bot
from tests.harness import eventually_async, running
from tests.synapse_fixture import Member, create_room, joined, knows_devices, member


def _notices(events: list[dict[str, Any]], bot: str, words: str) -> list[str]:
    """The bridge's notices in a room that contain ``words``."""
    return [
        e["content"]["body"]
        for e in events
        if e.get("sender") == bot
        and e.get("content", {}).get("msgtype") == "m.notice"
        and words in e["content"].get("body", "")
    ]


async def _timeline(person: Member, room_id: str) -> list[dict[str, Any]]:
    """The room's last 100 events, newest first, as a member's client pages back through
    them (``/messages``), decrypted where the member holds the keys."""
    page = await person.client.room_messages(room_id, limit=100)
    assert isinstance(page, RoomMessagesResponse), page
    return [event.source for event in page.chunk]


async def _upgrade(dan: Member, old: str, encrypted: bool) -> str:
    """Dan, who made ``old``, replaces it with a new public room of his (encrypted or not)
    and tombstones the old one, as a client without the upgrade API can."""
    new = await create_room(dan, encrypted=encrypted, public=True)
    content = {"body": "Nos mudamos", "replacement_room": new}
    sent = await dan.client.room_put_state(old, "m.room.tombstone", content)
    assert isinstance(sent, RoomPutStateResponse), sent
    return new


@pytest.mark.parametrize("new_encrypted", [False, True], ids=["plain", "encrypted"])
async def test_after_a_tombstone_an_encrypted_thread_reaches_the_new_room_only_if_encrypted(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str,
    synapse: SynapseServer, new_encrypted: bool,
) -> None:  # fmt: skip
    bot = await bot_user(synapse)
    async with (
        member(synapse, "cleo", store=tmp_path / "cleo", display="Cleo") as cleo,
        member(synapse, "dan", store=tmp_path / "dan", display="Dan") as dan,
    ):
        sur = await create_room(cleo, invite=(bot,), encrypted=True)
        norte = await create_room(dan, invite=(bot,), encrypted=True)
        rooms = [  # no ops_room: the bot's notices go to its first room, Sur
            {"id": "a", "bot": "mx", "chat": sur, "language": "es", "label": "Sur"},
            {"id": "b", "bot": "mx", "chat": norte, "language": "es", "label": "Norte"},
        ]
        cfg = config(tmp_path, redis_url, [matrix_bot(synapse, bot)], rooms)
        assert not cfg.config.circles[0].allow_unencrypted
        async with running(cfg):
            await joined(cleo, sur, bot)
            await joined(dan, norte, bot)
            for person in (cleo, dan):
                await knows_devices(person, bot)
            await cleo.say(sur, "Primera: asamblea el jueves")
            await dan.wait_for(norte, lambda ev: len(from_bot(ev, bot)) == 1)

            # Dan, Norte's moderator, moves Norte to a new room; the bot follows it there
            new = await _upgrade(dan, norte, new_encrypted)
            await joined(dan, new, bot)
            await cleo.wait_for(sur, lambda ev: bool(_notices(ev, bot, new)))
            if new_encrypted:  # the bot has seen the new room encrypted: Norte is again

                async def listed() -> bool:
                    encrypted = keys.bot_state("mx", "encrypted")
                    return bool(await redis_client.sismember(encrypted, norte))

                await eventually_async(listed, what="Norte encrypted again")

            await cleo.say(sur, "Segunda: la reunión es en la casa de siempre")
            if new_encrypted:
                events = await dan.wait_for(new, lambda ev: len(from_bot(ev, bot)) == 1)
                copy = next(e for e in events if e.get("content") is from_bot(events, bot)[0])
                assert copy["content"]["body"] == (
                    "Cleo (Sur)\nSegunda: la reunión es en la casa de siempre"
                )
                assert copy["decrypted"]  # it went encrypted, and Dan's client could read it
            else:
                # Sur is told that Norte got nothing, and why (names only, never the text)
                held = "no se llevó a Norte"
                events = await cleo.wait_for(sur, lambda ev: bool(_notices(ev, bot, held)))
                notice = _notices(events, bot, held)[0]
                assert "casa" not in notice

                async def all_sent() -> bool:
                    return not await redis_client.xlen(keys.outbox("mx"))

                await eventually_async(all_sent, what="the bot's outbox empty")
                shown_new = await _timeline(dan, new)
                posts = ("m.room.message", "m.room.encrypted")
                assert not [e for e in shown_new if e.get("sender") == bot and e["type"] in posts]
                assert "casa" not in str(shown_new)
            # and the old room got nothing after the tombstone, whatever the new room is
            shown_old = await _timeline(dan, norte)
            assert "casa" not in str(shown_old)
            assert len(from_bot(shown_old, bot)) == 1  # the first message only
        assert not await redis_client.xlen(keys.DEAD_LETTERS)


async def test_a_copy_routed_before_the_upgrade_is_refused_at_send_time_not_sent_into_it(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    """The relay routed the copy while Norte was still encrypted; Norte is upgraded to a
    plain room before the bot delivers it. The send-time check refuses it: no copy in the
    new room or the old one, and Sur is told that it could not be delivered, and why."""
    bot = await bot_user(synapse)
    async with (
        member(synapse, "cleo", store=tmp_path / "cleo", display="Cleo") as cleo,
        member(synapse, "dan", store=tmp_path / "dan", display="Dan") as dan,
    ):
        sur = await create_room(cleo, invite=(bot,), encrypted=True)
        norte = await create_room(dan, invite=(bot,), encrypted=True)
        rooms = [
            {"id": "a", "bot": "mx", "chat": sur, "language": "es", "label": "Sur"},
            {"id": "b", "bot": "mx", "chat": norte, "language": "es", "label": "Norte"},
        ]
        cfg = config(tmp_path, redis_url, [matrix_bot(synapse, bot)], rooms)
        async with running(cfg):
            await joined(cleo, sur, bot)
            await joined(dan, norte, bot)
            for person in (cleo, dan):
                await knows_devices(person, bot)
            await cleo.say(sur, "Primera: asamblea el jueves")
            await dan.wait_for(norte, lambda ev: len(from_bot(ev, bot)) == 1)

        inboxes = [keys.inbox(shard) for shard in range(cfg.config.redis.shards)]

        async def queued(*streams: str) -> int:
            return sum([await redis_client.xlen(s) for s in streams])

        async with running(cfg, role="bots"):  # the bot takes Cleo's message in
            await cleo.say(sur, "Segunda: la reunión es en la casa de siempre")
            await eventually_async(lambda: _some(queued(*inboxes)), what="the message in")
        async with running(cfg, role="relay"):  # the relay routes it: Norte is encrypted
            await eventually_async(lambda: _some(queued(keys.outbox("mx"))), what="routed")
        assert not await queued(*inboxes)

        new = await _upgrade(dan, norte, encrypted=False)
        async with running(cfg):  # the bot follows the upgrade, then delivers
            await joined(dan, new, bot)
            refused = "no pudo entregar un mensaje de Sur a Norte"
            events = await cleo.wait_for(sur, lambda ev: bool(_notices(ev, bot, refused)))
            notice = _notices(events, bot, refused)[0]
            assert "encrypted" in notice  # the reason (the catalogs keep it in English)
            assert "casa" not in notice

            async def all_sent() -> bool:
                return not await redis_client.xlen(keys.outbox("mx"))

            await eventually_async(all_sent, what="the bot's outbox empty")
            for room in (new, norte):
                shown = await _timeline(dan, room)
                assert "casa" not in str(shown), room
            assert len(from_bot(await _timeline(dan, norte), bot)) == 1
        assert await redis_client.xlen(keys.DEAD_LETTERS) == 1


async def _some(count: Awaitable[int]) -> bool:
    return await count > 0
