"""Media and webhook mode through the real Telegram adapter and the sandbox Bot API server."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import aiohttp
import redis.asyncio
from PIL import Image

from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import (
    ANA,
    BERLIN,
    BOT_A,
    CDMX,
    JONAS,
    telegram_world,
    world_bots,
)
from tests.bots.telegram_world import world_config as config
from tests.harness import eventually, running
from tests.helpers import ogg_voice

JSON = dict[str, object]


def photo_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825)[2] = (19.0, 25.0, 57.0)  # GPSLatitude
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, "JPEG", exif=exif)
    return out.getvalue()


def sticker() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (128, 128), (250, 200, 0, 255)).save(out, "WEBP")
    return out.getvalue()


def media_messages(tg: BotApiServer, chat: int) -> list[JSON]:
    return [m for m in tg.messages(chat) if m.get("kind") != "text"]


def file_of(message: JSON) -> str:
    """The file id of a message's media (the largest photo size)."""
    if message.get("photo"):
        sizes = message["photo"]
        assert isinstance(sizes, list)
        return str(sizes[-1]["file_id"])
    for kind in ("document", "sticker", "voice"):
        found = message.get(kind)
        if isinstance(found, dict):
            return str(found["file_id"])
    raise AssertionError(f"no media in {message}")


async def test_a_photo_crosses_as_a_photo_without_its_metadata(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    original = photo_with_gps()
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        posted = tg.post(CDMX, ANA, "Foto del desalojo", photo=original)
        await eventually(lambda: len(media_messages(tg, BERLIN)) == 1 and bool(net.seen_in("nyc")))
        copy = media_messages(tg, BERLIN)[0]
        assert str(copy["text"]).startswith("Ana (CDMX)\nFoto del desalojo")  # the caption
        carried = tg.file_bytes(file_of(copy))
        assert b"PhoneMaker" not in carried
        with Image.open(io.BytesIO(carried)) as image:
            assert image.size == (64, 48)
            assert not image.getexif()
        in_nyc = net.seen_in("nyc")[0]
        assert in_nyc.file is not None
        assert b"PhoneMaker" not in in_nyc.file

        # Ana fixes the caption: the copy's caption follows
        tg.edit(CDMX, posted["message_id"], "Foto del desalojo, calle Luna")
        await eventually(lambda: "calle Luna" in str(media_messages(tg, BERLIN)[0]["text"]))


async def test_a_sticker_crosses_and_a_long_caption_goes_first_as_text(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg)):
        tg.post(CDMX, ANA, "", sticker=sticker(), sticker_emoji="✊")
        # 994 characters fit a caption here, but not with the attribution and language note
        long_caption = "Convocatoria. " * 71
        tg.post(CDMX, ANA, long_caption, photo=photo_with_gps())
        await eventually(lambda: len(media_messages(tg, BERLIN)) == 2)
    shown = tg.messages(BERLIN)
    kinds = [m.get("kind") for m in shown]
    assert kinds.count("sticker") == 1
    sticker_at = kinds.index("sticker")
    assert str(shown[sticker_at - 1]["text"]).startswith("Ana (CDMX)")  # who, then the sticker
    photo_at = kinds.index("photo")
    assert "Convocatoria." in str(shown[photo_at - 1]["text"])  # the text, then the photo
    assert "".join(str(m["text"] or "") for m in shown).count("Convocatoria.") == 71


async def test_a_voice_note_crosses_as_a_voice_note_byte_for_byte(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    recording = ogg_voice(LOCATION="19.43,-99.13", ENCODER="Pixel 7")
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        tg.post(CDMX, ANA, "", voice=recording)
        await eventually(lambda: len(media_messages(tg, BERLIN)) == 1 and bool(net.seen_in("nyc")))
    copy = media_messages(tg, BERLIN)[0]
    assert copy["kind"] == "voice"
    assert str(copy["text"]).startswith("Ana (CDMX)")
    # the sound byte for byte, its tags (a location, the phone) gone
    assert tg.file_bytes(file_of(copy)) == ogg_voice()
    assert net.seen_in("nyc")[0].file == ogg_voice()


async def test_a_file_too_large_becomes_an_honest_note(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        tg.post(CDMX, ANA, "El acta completa", document=("acta.pdf", b"%PDF-1.4 tiny",
                "application/pdf"), declared_size=30 * 1024 * 1024)  # fmt: skip
        await eventually(lambda: any("acta" in t for t in (m["text"] for m in tg.messages(BERLIN))))
        await eventually(lambda: bool(net.seen_in("nyc")))
    note = "[Datei, acta.pdf, 30 MB, zu groß zum Übertragen]"  # in Berlin's language
    assert any(note in str(m["text"]) for m in tg.messages(BERLIN))
    assert "[file, acta.pdf, 30 MB, too large to carry]" in net.seen_in("nyc")[0].text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_mode_takes_updates_and_keeps_them_across_a_restart(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/tg-a"
    async with telegram_world() as tg:
        tg.webhooks.retry = 0.05
        bots = world_bots(tg)
        bots[0]["webhook_url"] = url  # tg-a takes its updates by webhook
        cfg = config(tmp_path, redis_url, tg, bots=bots)
        async with running(cfg):
            tg.post(CDMX, ANA, "Por webhook")
            await eventually(lambda: any("Por webhook" in str(m["text"])
                                         for m in tg.messages(BERLIN)))  # fmt: skip
            tg.post(BERLIN, JONAS, "Per Polling zurück")
            await eventually(lambda: any("zurück" in str(m["text"]) for m in tg.messages(CDMX)))
            # the URL alone is no credential: a post without Telegram's secret is refused
            async with aiohttp.ClientSession() as http:
                forged = {"update_id": 999, "message": {"text": "forged"}}
                async with http.post(url, json=forged) as answer:
                    assert answer.status == 403

        # translocal is down: Telegram keeps the update and retries until it is taken
        tg.post(CDMX, ANA, "Mientras estaba caído")
        async with running(cfg):
            await eventually(lambda: any("caído" in str(m["text"]) for m in tg.messages(BERLIN)))
    assert not any("forged" in str(m["text"]) for m in tg.messages(BERLIN))
    assert sum("Por webhook" in str(m["text"]) for m in tg.messages(BERLIN)) == 1


async def test_a_call_out_copy_asking_to_be_pinned_is_pinned(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    from bridge.model import keys
    from bridge.model.envelope import Delivery, MsgRef

    pinned = Delivery(
        key="callout:test:1:cdmx", action="send", bot="tg-a", room="cdmx", chat=str(CDMX),
        origin=MsgRef(room="cdmx", id="callout:test:1"), attribution="Call-out",
        text="Asamblea general hoy a las 19h", language="es", pin=True,
    )  # fmt: skip
    async with running(config(tmp_path, redis_url, tg)):
        await redis_client.xadd(keys.outbox("tg-a"), {"d": pinned.model_dump_json()})
        await eventually(lambda: tg.world.chat(CDMX).pinned is not None)
    shown = next(m for m in tg.messages(CDMX) if m["message_id"] == tg.world.chat(CDMX).pinned)
    assert "Asamblea general" in str(shown["text"])


async def test_a_file_that_cannot_cross_is_never_fetched(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    """A file is downloaded only when its message may cross: an opted-out member's photo
    (it crosses nowhere, ever) is not fetched from Telegram, nor stored; the same member's
    photo after opting in is fetched once and crosses."""

    def fetches() -> int:
        return sum(1 for c in tg.calls if c.method == "getFile" and c.bot_id == BOT_A)

    async with running(config(tmp_path, redis_url, tg)):
        tg.post(CDMX, ANA, "/optout")
        await eventually(lambda: len(tg.messages(CDMX)) >= 2)  # the bot's answer
        tg.post(CDMX, ANA, "Foto privada", photo=photo_with_gps())
        answered = len(tg.messages(CDMX))
        tg.post(CDMX, ANA, "/optin")  # the bot takes its updates in order
        await eventually(lambda: len(tg.messages(CDMX)) > answered + 1)
        assert fetches() == 0
        assert not media_messages(tg, BERLIN)
        assert not [k async for k in redis_client.scan_iter("tl:media:*")]

        tg.post(CDMX, ANA, "Foto del desalojo", photo=photo_with_gps())
        await eventually(lambda: len(media_messages(tg, BERLIN)) == 1)
        assert fetches() == 1
