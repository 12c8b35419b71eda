"""End-to-end encrypted Matrix rooms: the bot decrypts, re-encrypts, and keeps encrypted
threads out of unencrypted rooms unless the circle allows it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import redis.asyncio
from PIL import Image

from bots.matrix.bot import MatrixBot
from bridge.model import keys
from sandbox.synapse import SynapseServer
from tests.bots.test_matrix import bot_user, config, from_bot, matrix_bot
from tests.bots.test_matrix_paths import fetch, images, upload_image
from tests.bots.test_telegram_media import photo_with_gps
from tests.harness import eventually_async, running
from tests.synapse_fixture import create_room, joined, knows_devices, member


async def test_encrypted_rooms_carry_to_each_other_and_to_plain_rooms_only_when_allowed(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    async with (
        member(synapse, "cleo", store=tmp_path / "cleo", display="Cleo") as cleo,
        member(synapse, "dan", store=tmp_path / "dan", display="Dan") as dan,
        member(synapse, "eve", display="Eve") as eve,
    ):
        secret_a = await create_room(cleo, invite=(bot,), encrypted=True)
        secret_b = await create_room(dan, invite=(bot,), encrypted=True)
        plain = await create_room(eve, invite=(bot,))
        rooms = [
            {"id": "a", "bot": "mx", "chat": secret_a, "language": "es", "label": "Sur"},
            {"id": "b", "bot": "mx", "chat": secret_b, "language": "es", "label": "Norte"},
            {"id": "p", "bot": "mx", "chat": plain, "language": "es", "label": "Plaza"},
        ]
        bots = [matrix_bot(synapse, bot)]

        async with running(config(tmp_path, redis_url, bots, rooms)):
            for person, room in ((cleo, secret_a), (dan, secret_b), (eve, plain)):
                await joined(person, room, bot)
            for person in (cleo, dan):
                await knows_devices(person, bot)
            await cleo.say(secret_a, "La reunión es en la casa de siempre")
            events = await dan.wait_for(secret_b, lambda ev: len(from_bot(ev, bot)) == 1)
            copy = next(e for e in events if e.get("content") is from_bot(events, bot)[0])
            assert copy["content"]["body"] == "Cleo (Sur)\nLa reunión es en la casa de siempre"
            assert copy["decrypted"]  # it crossed encrypted, and Dan's client could read it
            # Cleo's room is told why the plain room got nothing (names only, no text)
            events = await cleo.wait_for(secret_a, lambda ev: len(_notices(ev, bot)) == 1)
            notice = _notices(events, bot)[0]
            assert "Plaza" in notice
            assert "casa" not in notice
            # a photo: decrypted by the bot, cleaned, uploaded encrypted again for Norte
            await upload_image(cleo, secret_a, photo_with_gps(), encrypted=True)
            events = await dan.wait_for(secret_b, lambda ev: len(images(ev, bot)) == 1)
            image = images(events, bot)[0]
            assert "file" in image  # encrypted: the homeserver holds only ciphertext
            assert "url" not in image
            with Image.open(io.BytesIO(await fetch(dan, image))) as shown:
                assert shown.size == (64, 48)
                assert not shown.getexif().get_ifd(0x8825)  # no GPS
            # messages from the plain room still cross into the encrypted ones
            await eve.say(plain, "Hola desde la plaza")
            await dan.wait_for(secret_b, lambda ev: len(from_bot(ev, bot)) == 4)
        assert set(await redis_client.smembers(keys.bot_state("mx", "encrypted"))) == {
            secret_a,
            secret_b,
        }
        assert not [e for e in eve.events[plain] if "casa" in str(e)]

        # the same bot (same device) restarted, now in a circle that allows plain rooms
        circles = [{"id": "net", "rooms": ["a", "b", "p"], "relay": "all",
                    "allow_unencrypted": True}]  # fmt: skip
        async with running(config(tmp_path, redis_url, bots, rooms, circles=circles)):
            await cleo.say(secret_a, "Mañana a las 7")
            events = await eve.wait_for(plain, lambda ev: len(from_bot(ev, bot)) == 1)
            assert from_bot(events, bot)[-1]["body"] == "Cleo (Sur)\nMañana a las 7"
            events = await dan.wait_for(secret_b, lambda ev: len(from_bot(ev, bot)) == 5)
            assert all(e["decrypted"] for e in events if e.get("sender") == bot
                       and e.get("type") == "m.room.message")  # fmt: skip


def _notices(events: list[dict[str, Any]], bot: str) -> list[str]:
    return [
        e["content"]["body"]
        for e in events
        if e.get("sender") == bot
        and e.get("content", {}).get("msgtype") == "m.notice"
        and "no se llevó a" in e["content"].get("body", "")  # the room's language: Spanish
    ]


async def test_a_message_whose_key_comes_late_waits_encrypted_and_then_crosses(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    async with (
        member(synapse, "cleo", store=tmp_path / "cleo", display="Cleo") as cleo,
        member(synapse, "dan", store=tmp_path / "dan", display="Dan") as dan,
    ):
        secret_a = await create_room(cleo, invite=(bot,), encrypted=True)
        secret_b = await create_room(dan, invite=(bot,), encrypted=True)
        rooms = [
            {"id": "a", "bot": "mx", "chat": secret_a, "language": "es", "label": "Sur"},
            {"id": "b", "bot": "mx", "chat": secret_b, "language": "es", "label": "Norte"},
        ]
        async with running(config(tmp_path, redis_url, [matrix_bot(synapse, bot)], rooms)) as (
            app,
            _,
        ):
            await joined(cleo, secret_a, bot)
            await joined(dan, secret_b, bot)
            await knows_devices(dan, bot)
            # Cleo's client has not learned the bot's device: the bot gets no key for this
            assert cleo.client.olm is not None
            cleo.client.olm.users_for_key_query.discard(bot)
            await cleo.say(secret_a, "Llegó tarde la llave")
            parked = keys.bot_state("mx", "undecrypted")

            async def waiting() -> bool:
                return bool(await redis_client.llen(parked))

            await eventually_async(waiting, what="the event parked")
            held = await redis_client.lrange(parked, 0, -1)
            assert "Llegó" not in str(held)  # only ciphertext waits in Redis
            # the key comes later (as a key backup or a forwarded key would bring it)
            await cleo.client.export_keys(str(tmp_path / "keys.txt"), "pass-phrase-1")
            matrix = app.bots["mx"]
            assert isinstance(matrix, MatrixBot)
            assert matrix.client is not None
            await matrix.client.import_keys(str(tmp_path / "keys.txt"), "pass-phrase-1")
            events = await dan.wait_for(secret_b, lambda ev: len(from_bot(ev, bot)) == 1)
            assert from_bot(events, bot)[0]["body"] == "Cleo (Sur)\nLlegó tarde la llave"
            assert not await redis_client.llen(parked)
