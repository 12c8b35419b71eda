"""Media in the sandbox Telegram, through python-telegram-bot's real Bot over HTTP: photos and
documents a bot uploads and downloads, voice notes, stickers, caption edits, Telegram's size
limits, and members posting photos, documents, voice notes and stickers whose bytes a bot
downloads unchanged."""

from __future__ import annotations

import base64
import datetime as dt
import struct

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError

from sandbox.telegram import ApiError, BotApiServer
from tests.sandbox.telegram_world import ANA, BEN, CHAT, TOKEN, png, setup_world, take, tg_bot

EXIF_MARK = b"GPS 52.5200N 13.4050E"


def jpeg(width: int, height: int, *, exif: bytes = EXIF_MARK, padding: int = 0) -> bytes:
    """A JPEG header with an Exif APP1 segment (holding `exif`) and a frame of width x height:
    enough for Telegram, and this sandbox, to read the dimensions."""
    app1 = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + exif
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    return (
        b"\xff\xd8"
        + b"\xff\xe1"
        + struct.pack(">H", len(app1) + 2)
        + app1
        + b"\xff\xc0"
        + struct.pack(">H", len(frame) + 2)
        + frame
        + b"\x00" * padding
        + b"\xff\xd9"
    )


def ogg_opus(seconds: int) -> bytes:
    """Two OGG pages: the OpusHead (pre-skip 312) and a last page at `seconds` of audio."""

    def page(kind: int, granule: int, sequence: int, packet: bytes) -> bytes:
        header = b"OggS" + struct.pack("<BBqIIIB", 0, kind, granule, 7, sequence, 0, 1)
        return header + bytes([len(packet)]) + packet

    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    return page(2, 0, 0, head) + page(4, 312 + seconds * 48000, 1, b"\xfc\xff\xfe")


def webp(width: int, height: int) -> bytes:
    """A lossless WebP header of width x height."""
    bits = (width - 1) | (height - 1) << 14
    chunk = b"\x2f" + struct.pack("<I", bits) + b"\x00" * 5
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(chunk)) + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def seconds(duration: int | dt.timedelta) -> float:
    """A Voice.duration in seconds (a timedelta with PTB_TIMEDELTA, else an int)."""
    return duration.total_seconds() if isinstance(duration, dt.timedelta) else duration


async def download(bot: Bot, file_id: str) -> bytes:
    return bytes(await (await bot.get_file(file_id)).download_as_bytearray())


async def test_send_voice_and_sticker(server: BotApiServer, bot: Bot) -> None:
    audio = ogg_opus(3)
    sent = await bot.send_voice(CHAT, audio, caption="<i>listen</i>", parse_mode="HTML", duration=3)
    assert sent.voice is not None
    voice = sent.voice
    assert (seconds(voice.duration), voice.mime_type, voice.file_size) == (
        3,
        "audio/ogg",
        len(audio),
    )
    assert sent.caption == "listen"
    assert [e.type for e in sent.caption_entities] == ["italic"]
    assert await download(bot, voice.file_id) == audio
    untimed = await bot.send_voice(CHAT, audio)
    assert untimed.voice is not None
    assert seconds(untimed.voice.duration) == 0  # as defined by the sender: not given

    image = webp(512, 480)
    stuck = await bot.send_sticker(CHAT, image, emoji="👍")
    sticker = stuck.sticker
    assert sticker is not None
    assert (sticker.type, sticker.width, sticker.height) == ("regular", 512, 480)
    assert (sticker.is_animated, sticker.is_video, sticker.emoji) == (False, False, "👍")
    assert sticker.file_size == len(image)
    again = await bot.send_sticker(CHAT, sticker.file_id)
    assert again.sticker is not None
    assert (again.sticker.file_id, again.sticker.emoji) == (sticker.file_id, "👍")
    assert server.file_bytes(sticker.file_id) == image

    with pytest.raises(BadRequest, match=r"(?i)static \.webp"):
        await bot.send_sticker(CHAT, png(2, 2))
    with pytest.raises(BadRequest, match=r"(?i)type of file mismatch"):
        await bot.send_voice(CHAT, sticker.file_id)
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_sticker(CHAT, "CAACAgIAAxkBAAnothing")
    shown = server.messages(CHAT)
    assert [m["kind"] for m in shown] == ["voice", "voice", "sticker", "sticker"]
    assert shown[0]["voice"]["duration"] == 3
    assert shown[0]["text"] == "listen"
    assert shown[2]["sticker"]["emoji"] == "👍"


async def test_edit_message_caption(server: BotApiServer, bot: Bot) -> None:
    photo = await bot.send_photo(CHAT, png(4, 3), caption="old")
    edited = await bot.edit_message_caption(
        chat_id=CHAT, message_id=photo.message_id, caption="<b>new</b> caption", parse_mode="HTML"
    )
    assert isinstance(edited, type(photo))
    assert edited.caption == "new caption"
    assert [(e.type, e.offset, e.length) for e in edited.caption_entities] == [("bold", 0, 3)]
    assert edited.photo == photo.photo  # the media stays
    assert edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_caption(
            chat_id=CHAT,
            message_id=photo.message_id,
            caption="<b>new</b> caption",
            parse_mode="HTML",
        )
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.edit_message_caption(
            chat_id=CHAT, message_id=photo.message_id, caption="😀" * 512 + "a"
        )
    bare = await bot.edit_message_caption(chat_id=CHAT, message_id=photo.message_id)
    assert isinstance(bare, type(photo))
    assert bare.caption is None

    text = await bot.send_message(CHAT, "plain")
    with pytest.raises(BadRequest, match=r"(?i)^there is no caption in the message to edit$"):
        await bot.edit_message_caption(chat_id=CHAT, message_id=text.message_id, caption="x")
    sticker = await bot.send_sticker(CHAT, webp(64, 64))
    with pytest.raises(BadRequest, match=r"(?i)there is no caption in the message to edit"):
        await bot.edit_message_caption(chat_id=CHAT, message_id=sticker.message_id, caption="x")
    human = server.post(CHAT, ANA, "mine", photo=png(2, 2))
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_caption(chat_id=CHAT, message_id=human["message_id"], caption="x")
    assert server.messages(CHAT)[0]["text"] is None
    assert [c.method for c in server.calls if c.method.startswith("edit")] == [
        "editMessageCaption",
        "editMessageCaption",
    ]


async def test_caption_limit_counts_utf16_units(server: BotApiServer, bot: Bot) -> None:
    await bot.send_photo(CHAT, png(2, 2), caption="😀" * 512)  # 1024 UTF-16 units
    await bot.send_document(CHAT, b"notes", filename="a.txt", caption="😀" * 512)
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(CHAT, png(2, 2), caption="😀" * 512 + "a")
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_document(CHAT, b"notes", filename="a.txt", caption="😀" * 512 + "a")
    assert len(server.messages(CHAT)) == 2


async def test_upload_limits() -> None:
    async with BotApiServer(limits=False, max_photo=2000, max_upload=5000) as server:
        setup_world(server)
        async with tg_bot(server) as bot:
            big_photo = jpeg(20, 20, padding=2500)
            with pytest.raises(
                BadRequest,
                match=rf"(?i)^file of size {len(big_photo)} bytes is too big for a photo; "
                r"the maximum size is 2000 bytes$",
            ):
                await bot.send_photo(CHAT, big_photo)
            with pytest.raises(NetworkError, match="Request Entity Too Large"):
                await bot.send_document(CHAT, b"x" * 5001, filename="big.bin")
            await bot.send_document(CHAT, b"x" * 5000, filename="fits.bin")
            await bot.send_photo(CHAT, jpeg(20, 20, padding=1500))
        async with httpx.AsyncClient() as client:
            refused = await client.post(
                f"{server.url}/bot{TOKEN}/sendDocument",
                data={"chat_id": str(CHAT)},
                files={"document": ("big.bin", b"x" * 6000)},
            )
        assert refused.status_code == 413
        assert refused.json() == {
            "ok": False,
            "error_code": 413,
            "description": "Request Entity Too Large",
        }
        assert [m["kind"] for m in server.messages(CHAT)] == ["document", "photo"]


async def test_get_file_refuses_files_over_the_download_limit(
    server: BotApiServer, bot: Bot
) -> None:
    posted = server.post(
        CHAT,
        ANA,
        "the whole archive",
        document=("archive.zip", b"PK\x03\x04 small stand-in", "application/zip"),
        declared_size=30 * 1024 * 1024,
    )
    message = (await take(bot))[0].message
    assert message is not None
    assert message.document is not None
    assert message.document.file_size == 30 * 1024 * 1024
    assert message.document.file_id == posted["document"]["file_id"]
    with pytest.raises(BadRequest, match=r"(?i)^file is too big$"):
        await bot.get_file(message.document.file_id)

    server.file_limits.download = 1000
    sent = await bot.send_document(CHAT, b"y" * 1001, filename="report.txt")
    assert sent.document is not None
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(sent.document.file_id)
    server.file_limits.download = 1001
    assert await download(bot, sent.document.file_id) == b"y" * 1001


async def test_member_media_reaches_bots_with_the_exact_bytes(
    server: BotApiServer, bot: Bot
) -> None:
    photo = jpeg(1600, 1200)
    flyer = b"%PDF-1.4 banner flyer"
    audio = ogg_opus(7)
    image = webp(512, 480)
    server.post(CHAT, ANA, "Demo tomorrow", photo=photo)
    server.post(CHAT, BEN, document=("flyer.pdf", flyer, "application/pdf"))
    server.post(CHAT, ANA, voice=audio)
    server.post(CHAT, BEN, sticker=image, sticker_emoji="🔥")
    got = [u.message for u in await take(bot)]
    assert all(got)
    pic, doc, note, stuck = got
    assert pic is not None
    assert doc is not None
    assert note is not None
    assert stuck is not None

    assert pic.caption == "Demo tomorrow"
    assert pic.text is None
    assert [(s.width, s.height) for s in pic.photo] == [
        (90, 68),
        (320, 240),
        (800, 600),
        (1280, 960),
        (1600, 1200),
    ]
    assert len({s.file_id for s in pic.photo}) == 5
    original = await download(bot, pic.photo[-1].file_id)
    assert original == photo
    assert EXIF_MARK in original  # served unchanged: stripping it is the bridge's job

    assert doc.document is not None
    assert (doc.document.file_name, doc.document.mime_type) == ("flyer.pdf", "application/pdf")
    assert doc.caption is None
    assert await download(bot, doc.document.file_id) == flyer

    assert note.voice is not None
    assert (seconds(note.voice.duration), note.voice.mime_type) == (7, "audio/ogg")
    assert await download(bot, note.voice.file_id) == audio

    assert stuck.sticker is not None
    assert (stuck.sticker.emoji, stuck.sticker.width, stuck.sticker.height) == ("🔥", 512, 480)
    assert await download(bot, stuck.sticker.file_id) == image

    shown = server.messages(CHAT)
    assert [m["kind"] for m in shown] == ["photo", "document", "voice", "sticker"]
    assert shown[0]["text"] == "Demo tomorrow"
    assert shown[0]["photo"][-1]["file_id"] == pic.photo[-1].file_id
    assert shown[1]["document"]["file_name"] == "flyer.pdf"

    # a bot passes the photo on by file_id; what it sent is what a reader downloads
    forwarded = await bot.send_photo(CHAT, pic.photo[-1].file_id, caption="relayed")
    assert forwarded.photo[-1].file_id == pic.photo[-1].file_id
    assert server.file_bytes(forwarded.photo[-1].file_id) == photo


async def test_member_posts_are_checked(server: BotApiServer) -> None:
    with pytest.raises(ApiError, match="message text is empty"):
        server.post(CHAT, ANA)
    with pytest.raises(ValueError, match="one photo"):
        server.post(CHAT, ANA, photo=png(2, 2), voice=ogg_opus(1))
    with pytest.raises(ApiError, match="IMAGE_PROCESS_FAILED"):
        server.post(CHAT, ANA, photo=b"not an image")
    with pytest.raises(ApiError, match="message caption is too long"):
        server.post(CHAT, ANA, "c" * 1025, photo=png(2, 2))
    with pytest.raises(ValueError, match="no caption"):
        server.post(CHAT, ANA, "hi", sticker=webp(8, 8))
    assert server.messages(CHAT) == []


async def test_a_members_caption_edit_keeps_the_media(server: BotApiServer, bot: Bot) -> None:
    posted = server.post(CHAT, ANA, "Demo at 5", photo=png(3, 2))
    await take(bot)
    server.edit(CHAT, posted["message_id"], "Demo at 6")
    edited = (await take(bot))[0].edited_message
    assert edited is not None
    assert edited.caption == "Demo at 6"
    assert edited.photo[-1].file_id == posted["photo"][-1]["file_id"]
    server.edit(CHAT, posted["message_id"], "")  # the caption removed
    removed = (await take(bot))[0].edited_message
    assert removed is not None
    assert removed.caption is None
    assert removed.photo
    stuck = server.post(CHAT, ANA, sticker=webp(8, 8))
    with pytest.raises(ApiError, match="message can't be edited"):
        server.edit(CHAT, stuck["message_id"], "caption?")


async def test_control_api_carries_media_as_base64(server: BotApiServer, bot: Bot) -> None:
    photo = jpeg(40, 30)

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    async with httpx.AsyncClient(base_url=f"{server.url}/_sandbox") as client:
        made = await client.post(
            f"/chats/{CHAT}/messages", json={"user_id": ANA, "text": "look", "photo": b64(photo)}
        )
        file_id = made.json()["result"]["photo"][-1]["file_id"]
        doc = await client.post(
            f"/chats/{CHAT}/messages",
            json={"user_id": BEN, "document": ["a.txt", b64(b"notes"), "text/plain"]},
        )
        assert doc.json()["result"]["document"]["file_name"] == "a.txt"
        fetched = (await client.get(f"/files/{file_id}")).json()["result"]
        assert base64.b64decode(fetched["data"]) == photo
        broken = await client.post(
            f"/chats/{CHAT}/messages", json={"user_id": ANA, "voice": "not base64!"}
        )
        assert broken.status_code == 400
        unknown = await client.get("/files/nothing")
        assert unknown.status_code == 400
    got = await take(bot)
    message = got[0].message
    assert message is not None
    assert message.caption == "look"
    assert await download(bot, message.photo[-1].file_id) == photo


async def test_photo_and_document_upload_and_download(server: BotApiServer, bot: Bot) -> None:
    image = png(3, 2)
    sent = await bot.send_photo(CHAT, image, caption="<b>banner</b>", parse_mode="HTML")
    assert sent.caption == "banner"
    assert sent.caption_entities[0].type == "bold"
    size = sent.photo[-1]
    assert (size.width, size.height, size.file_size) == (3, 2, len(image))
    file = await bot.get_file(size.file_id)
    assert file.file_path is not None
    assert file.file_path.startswith(server.url + "/file/bot")
    assert bytes(await file.download_as_bytearray()) == image

    again = await bot.send_photo(CHAT, size.file_id)  # re-sent by file_id
    assert again.photo[-1].file_id == size.file_id
    doc = await bot.send_document(CHAT, b"%PDF-1.4 flyer", filename="flyer.pdf")
    assert doc.document is not None
    assert doc.document.file_name == "flyer.pdf"
    assert doc.document.mime_type == "application/pdf"
    got = await (await bot.get_file(doc.document.file_id)).download_as_bytearray()
    assert bytes(got) == b"%PDF-1.4 flyer"
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(CHAT, b"not an image")
    assert [m["kind"] for m in server.messages(CHAT)] == ["photo", "photo", "document"]
