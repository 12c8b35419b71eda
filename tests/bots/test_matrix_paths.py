"""The Matrix adapter's other paths against the real Synapse: hostile HTML, long messages,
files both ways, strangers' invites, room upgrades."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio
from nio import MemoryDownloadResponse, RoomInviteResponse, UploadResponse
from PIL import Image

from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.test_matrix import (
    CDMX,
    JUAN,
    TOKEN,
    bot_user,
    config,
    from_bot,
    matrix_bot,
    tg,
    tg_copies,
)
from tests.bots.test_telegram_media import photo_with_gps
from tests.harness import eventually, running
from tests.helpers import sandbox_bot
from tests.synapse_fixture import Member, create_room, joined, member

__all__ = ["tg"]


def two_rooms(a: str, b: str, bot: str = "mx") -> list[dict[str, Any]]:
    return [
        {"id": "berlin", "bot": bot, "chat": a, "language": "es", "label": "Berlin"},
        {"id": "wien", "bot": bot, "chat": b, "language": "es", "label": "Wien"},
    ]


async def test_hostile_html_arrives_sanitized_and_a_60_kb_message_arrives_split_and_whole(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    async with member(synapse, "ana", display="Ana") as ana, \
               member(synapse, "ben", display="Ben") as ben:  # fmt: skip
        berlin = await create_room(ana, invite=(bot,))
        wien = await create_room(ben, invite=(bot,))
        await ana.say(berlin, "historia vieja")  # before the bridge ever ran: never carried
        loaded = config(tmp_path, redis_url, [matrix_bot(synapse, bot)], two_rooms(berlin, wien))
        async with running(loaded):
            await joined(ana, berlin, bot)
            await joined(ben, wien, bot)
            hostile = (
                "<script>alert('x')</script><p>Hola <b>vecinas</b></p>"
                '<img src="x" onerror="alert(1)" alt="foto">'
                '<a href="javascript:alert(1)">clic</a> <a href="https://example.org/">sitio</a>'
                + "<b><i><u>" * 3000 + "hondo" + "</u></i></b>" * 3000
                + '<iframe src="https://evil.example/"></iframe><style>body{}</style>fin'
            )  # fmt: skip
            await ana.say(berlin, "Hola vecinas", html=hostile)
            sentences = [f"Frase número {i} de un mensaje muy largo." for i in range(1400)]
            long_text = " ".join(sentences)
            assert 60_000 < len(long_text.encode()) < 63_000
            await ana.say(berlin, long_text)
            events = await ben.wait_for(wien, lambda ev: "largo" in str(from_bot(ev, bot)[-1:]))
            await ben.wait_for(wien, lambda ev: f"{sentences[-1]}" in str(from_bot(ev, bot)))
            copies = from_bot(ben.events[wien], bot)

        assert not [c for c in copies if "historia" in c["body"]]
        copy = copies[0]
        html = copy["formatted_body"]
        for bad in ("<script", "alert", "onerror", "javascript:", "<img", "<iframe", "<style"):
            assert bad not in html, bad
        assert '<a href="https://example.org/">sitio</a>' in html
        for shown in ("Hola", "vecinas", "foto", "clic", "hondo", "fin"):
            assert shown in copy["body"]
        assert len(html) < 2000  # the nesting did not come out 3,000 levels deep

        parts = copies[1:]
        assert len(parts) >= 2  # split: one event cannot hold it
        for part in parts:
            size = len(part["body"].encode()) + len(part["formatted_body"].encode())
            assert size < 64_000
        assert parts[0]["body"].startswith("Ana (Berlin)\nFrase número 0 ")
        joined_text = " ".join(p["body"] for p in parts)
        positions = [joined_text.find(s) for s in sentences]
        assert -1 not in positions
        assert positions == sorted(positions)
        assert all(joined_text.count(s) == 1 for s in sentences[::50])
        del events


async def upload_image(person: Member, room: str, data: bytes, *, encrypted: bool) -> None:
    response, keys = await person.client.upload(
        io.BytesIO(data), content_type="image/jpeg", filename="desalojo.jpg",
        encrypt=encrypted, filesize=len(data),
    )  # fmt: skip
    assert isinstance(response, UploadResponse)
    content: dict[str, Any] = {"msgtype": "m.image", "body": "desalojo.jpg",
                               "info": {"mimetype": "image/jpeg", "size": len(data),
                                        "w": 64, "h": 48}}  # fmt: skip
    if encrypted:
        assert keys is not None
        content["file"] = {**keys, "url": response.content_uri}
    else:
        content["url"] = response.content_uri
    await person.send(room, content)


def images(events: list[dict[str, Any]], bot: str) -> list[dict[str, Any]]:
    return [c for c in from_bot(events, bot) if c.get("msgtype") == "m.image"]


async def fetch(person: Member, content: dict[str, Any]) -> bytes:
    """The file of an m.image as a member's client shows it (decrypted when it is)."""
    from nio.crypto.attachments import decrypt_attachment

    url = content["file"]["url"] if "file" in content else content["url"]
    response = await person.client.download(mxc=url)
    assert isinstance(response, MemoryDownloadResponse), response
    if "file" in content:
        f = content["file"]
        return bytes(decrypt_attachment(response.body, f["key"]["k"], f["hashes"]["sha256"],
                                         f["iv"]))  # fmt: skip
    return bytes(response.body)


async def test_files_cross_as_files_without_metadata_or_as_notes(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str,
    synapse: SynapseServer, tg: BotApiServer,
) -> None:  # fmt: skip
    bot, small = await bot_user(synapse), await bot_user(synapse)
    async with member(synapse, "ana", display="Ana") as ana, \
               member(synapse, "ben", display="Ben") as ben, \
               member(synapse, "cai", display="Cai") as cai:  # fmt: skip
        berlin = await create_room(ana, invite=(bot,))
        wien = await create_room(ben, invite=(bot,))
        tiny = await create_room(cai, invite=(small,))
        rooms = [
            *two_rooms(berlin, wien),
            {"id": "lima", "bot": "small", "chat": tiny, "language": "es", "label": "Lima"},
            {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX"},
        ]
        bots = [
            matrix_bot(synapse, bot),
            {**matrix_bot(synapse, small), "id": "small", "max_upload": 100},
            sandbox_bot("tg", TOKEN, tg.url, limits_scale=0.01),
        ]
        async with running(config(tmp_path, redis_url, bots, rooms)):
            await joined(ana, berlin, bot)
            await joined(ben, wien, bot)
            await joined(cai, tiny, small)
            await upload_image(ana, berlin, photo_with_gps(), encrypted=False)
            events = await ben.wait_for(wien, lambda ev: len(images(ev, bot)) == 1)
            carried = await fetch(ben, images(events, bot)[0])
            with Image.open(io.BytesIO(carried)) as image:
                assert image.size == (64, 48)
                assert not image.getexif().get_ifd(0x8825)  # no GPS
            assert from_bot(events, bot)[0]["body"] == "Ana (Berlin)"  # who sent it, before it
            # a homeserver limit (here max_upload) too small for it: an honest note instead
            events = await cai.wait_for(tiny, lambda ev: len(from_bot(ev, small)) == 1)
            note = from_bot(events, small)[0]["body"]
            assert note.startswith("Ana (Berlin)\n[foto, ")  # in Lima's language
            assert note.endswith("demasiado grande para este servidor]")
            await eventually(lambda: any(m.get("photo") for m in tg_copies(tg, CDMX)))

            # and a photo from Telegram arrives in Matrix as an image
            tg.post(CDMX, JUAN, "Foto del desalojo", photo=photo_with_gps())
            events = await ben.wait_for(wien, lambda ev: len(images(ev, bot)) == 2)
            with Image.open(io.BytesIO(await fetch(ben, images(events, bot)[1]))) as image:
                assert image.size == (64, 48)
            assert any(c["body"] == "Juan (CDMX)\nFoto del desalojo" for c in from_bot(events, bot))


async def _upgrade(synapse: SynapseServer, person: Member, room_id: str) -> str:
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        response = await http.post(
            f"{synapse.url}/_matrix/client/v3/rooms/{room_id}/upgrade",
            json={"new_version": "12"},
            headers={"Authorization": f"Bearer {person.client.access_token}"},
        )
    assert response.status_code == 200, response.text
    return str(response.json()["replacement_room"])


async def test_strangers_invites_are_declined_and_room_upgrades_are_followed(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    async with member(synapse, "ana", display="Ana") as ana, \
               member(synapse, "ben", display="Ben") as ben, \
               member(synapse, "mallory", display="Mallory") as mallory:  # fmt: skip
        berlin = await create_room(ana, invite=(bot,), public=True)
        wien = await create_room(ben)
        # invites off: a stranger's invite is declined at once (with invites on it would
        # wait for a link: tests/bots/test_matrix_pending.py)
        async with running(config(tmp_path, redis_url, [matrix_bot(synapse, bot)],
                                  two_rooms(berlin, wien), link={"invites": False})):  # fmt: skip
            await joined(ana, berlin, bot)
            # Ben's room had a life before the bot came: that history stays there
            for i in range(3):
                await ben.say(wien, f"antes {i}")
            invite = await ben.client.room_invite(wien, bot)
            assert isinstance(invite, RoomInviteResponse), invite
            await joined(ben, wien, bot)
            await ben.say(wien, "ya con el puente")
            await ana.wait_for(berlin, lambda ev: len(from_bot(ev, bot)) == 1)
            assert [c["body"] for c in from_bot(ana.events[berlin], bot)] == [
                "Ben (Wien)\nya con el puente"
            ]
            theirs = await create_room(mallory, invite=(bot,))
            await mallory.wait_for(theirs, lambda ev: any(_left(e, bot) for e in ev))

            new = await _upgrade(synapse, ana, berlin)
            await ana.join(new)
            await joined(ana, new, bot)  # the bot followed the upgrade
            await ana.say(new, "Seguimos aquí")
            events = await ben.wait_for(wien, lambda ev: len(from_bot(ev, bot)) == 1)
            assert from_bot(events, bot)[0]["body"] == "Ana (Berlin)\nSeguimos aquí"
            # the operator is told (no ops_room: in the bot's first room, now the new one)
            # in the room's language (Spanish)
            events = await ana.wait_for(new, lambda ev: any("se actualizó" in str(e) for e in ev))
            told = next(e for e in events if "se actualizó" in str(e))
            assert berlin in told["content"]["body"]
            assert new in told["content"]["body"]
            assert "Seguimos" not in told["content"]["body"]
        # a restart goes on in the new room
        async with running(config(tmp_path, redis_url, [matrix_bot(synapse, bot)],
                                  two_rooms(berlin, wien))):  # fmt: skip
            await ana.say(new, "Y después del reinicio")
            await ben.wait_for(wien, lambda ev: len(from_bot(ev, bot)) == 2)
    assert not [e for e in mallory.events[theirs] if e.get("sender") == bot
                and e.get("type") == "m.room.message"]  # fmt: skip


def _left(event: dict[str, Any], user_id: str) -> bool:
    return (
        event.get("type") == "m.room.member"
        and event.get("state_key") == user_id
        and (event.get("content") or {}).get("membership") == "leave"
    )
