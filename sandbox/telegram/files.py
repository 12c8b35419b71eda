"""Stored files: bytes under file_ids, the Message fields they show as (PhotoSize list,
Document, Voice, Sticker, Video, Audio, Animation, VideoNote), their size limits and getFile
paths. Video and audio are not decoded: their duration and size are what the sender declares
(Telegram reads them from the file), and the bytes are kept as they came, tags included.

Telegram reads an uploaded photo's or sticker's dimensions and refuses what is not an image;
this sandbox reads PNG, GIF, JPEG and WebP headers for the same purpose and never re-encodes:
every size of a photo serves the original bytes, metadata (EXIF) included, so whatever strips
it has to be the bot.
"""

from __future__ import annotations

import mimetypes
import secrets
import struct

from sandbox.telegram.entities import JSON
from sandbox.telegram.model import StoredFile
from sandbox.telegram.params import Upload
from sandbox.telegram.world import World, bad_request

# file_id prefixes, and the folders of file paths, as Telegram's look
_PREFIX = {
    "photo": "AgACAgIAAxkBAA",
    "document": "BQACAgIAAxkBAA",
    "voice": "AwACAgIAAxkBAA",
    "sticker": "CAACAgIAAxkBAA",
    "video": "BAACAgIAAxkBAA",
    "audio": "CQACAgIAAxkBAA",
    "animation": "CgACAgIAAxkBAA",
    "video_note": "DQACAgIAAxkBAA",
}
_FOLDER = {"photo": "photos", "document": "documents", "voice": "voice", "sticker": "stickers",
           "video": "videos", "audio": "music", "animation": "animations",
           "video_note": "video_notes"}  # fmt: skip
AV_KINDS = ("video", "audio", "animation", "video_note")  # shown with their duration
PHOTO_BOXES = (90, 320, 800, 1280, 2560)  # the sides of the smaller sizes Telegram makes
STICKER_ONLY_WEBP = "sticker must be a static .WEBP image (the only sticker format modelled)"


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG image, or None if it is not one."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return None


def webp_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a WebP image (lossy, lossless or extended), or None."""
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        return width, int.from_bytes(data[27:30], "little") + 1
    return None


def ogg_duration(data: bytes) -> int:
    """Seconds of an OGG/Opus file (the last page's granule position less the pre-skip, at
    48 kHz), as a client measures the voice note it recorded; 0 if it is not one."""
    head, last = data.find(b"OpusHead"), data.rfind(b"OggS")
    if not data.startswith(b"OggS") or head < 0 or last + 14 > len(data):
        return 0
    pre_skip = int.from_bytes(data[head + 10 : head + 12], "little")
    granule = int.from_bytes(data[last + 6 : last + 14], "little", signed=True)
    return max(0, round((granule - pre_skip) / 48000))


def store(
    world: World,
    kind: str,
    data: bytes,
    *,
    file_name: str | None = None,
    mime_type: str | None = None,
    declared_size: int | None = None,
    duration: int = 0,
    emoji: str | None = None,
    width: int = 0,
    height: int = 0,
) -> StoredFile:
    """Keeps bytes under a new file_id as a photo, document, voice note, sticker, video,
    audio file, animation or video note (checked as Telegram checks them) and works out the
    Message field they show as."""
    if not data:
        raise bad_request("file must be non-empty")
    if kind == "photo":
        if image_size(data) is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        mime_type, extension = "image/jpeg", ".jpg"
    elif kind == "sticker":
        if webp_size(data) is None:
            raise bad_request(STICKER_ONLY_WEBP)
        mime_type, extension = "image/webp", ".webp"
    elif kind == "voice":
        audio = mime_type and mime_type.startswith("audio/")
        mime_type, extension = (mime_type if audio else "audio/ogg"), ".oga"
    else:
        extension = mimetypes.guess_extension(mime_type or "") or ""
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1]
    stored = _new(world, kind, data, extension, mime_type, declared_size)
    stored.file_name = file_name if kind in ("document", "video", "audio", "animation") else None
    if kind == "photo":
        stored.shown = _photo_sizes(world, stored)
    elif kind == "document":
        stored.shown = _document(stored)
    elif kind == "voice":
        stored.shown = {**_common(stored), "duration": duration, "mime_type": stored.mime_type}
    elif kind in AV_KINDS:
        stored.shown = _av(stored, duration, width, height)
    else:
        stored.shown = _sticker(stored, emoji)
    return stored


def store_upload(
    world: World,
    upload: Upload,
    kind: str,
    *,
    duration: int = 0,
    emoji: str | None = None,
    width: int = 0,
    height: int = 0,
) -> StoredFile:
    """Keeps a bot's upload; the MIME type is the part's, else guessed from the file name."""
    mime = upload.content_type
    if not mime or mime == "application/octet-stream":
        mime = mimetypes.guess_type(upload.filename or "")[0] or mime
    return store(
        world,
        kind,
        upload.data,
        file_name=upload.filename,
        mime_type=mime,
        duration=duration,
        emoji=emoji,
        width=width,
        height=height,
    )


def existing(world: World, file_id: str, kind: str) -> StoredFile:
    """A file sent again by its file_id (URLs are not fetched: nothing leaves this machine)."""
    stored = world.files.get(file_id)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request("type of file mismatch")
    return stored


def media(stored: StoredFile) -> JSON:
    """The Message field of a stored file: {"photo": [...]}, {"document": {...}}, ...; an
    animation shows as a document too, as Telegram keeps it for older clients."""
    if stored.kind == "animation":
        return {"animation": stored.shown, "document": _document(stored)}
    return {stored.kind: stored.shown}


def _new(
    world: World,
    kind: str,
    data: bytes,
    extension: str,
    mime_type: str | None,
    declared_size: int | None,
) -> StoredFile:
    stored = StoredFile(
        file_id=_PREFIX[kind] + secrets.token_urlsafe(40),
        file_unique_id="AQAD" + secrets.token_urlsafe(9),
        kind=kind,
        data=data,
        path=f"{_FOLDER[kind]}/file_{len(world.files)}{extension}",
        mime_type=mime_type,
        declared_size=declared_size,
    )
    world.files[stored.file_id] = stored
    return stored


def _common(stored: StoredFile) -> JSON:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }


def _photo_sizes(world: World, original: StoredFile) -> list[JSON]:
    """Telegram's PhotoSize list, smallest first: a size per box smaller than the photo, each
    under its own file_id (here with the original bytes), then the original itself."""
    width, height = image_size(original.data) or (0, 0)
    sizes: list[JSON] = []
    longest = max(width, height)
    for box in PHOTO_BOXES:
        if box >= longest:
            break
        smaller = _new(world, "photo", original.data, ".jpg", "image/jpeg", None)
        scaled = (max(1, round(width * box / longest)), max(1, round(height * box / longest)))
        sizes.append({**_common(smaller), "width": scaled[0], "height": scaled[1]})
    sizes.append({**_common(original), "width": width, "height": height})
    for size in sizes[:-1]:
        world.files[size["file_id"]].shown = sizes
    return sizes


def _document(stored: StoredFile) -> JSON:
    result = _common(stored)
    if stored.file_name:
        result["file_name"] = stored.file_name
    if stored.mime_type:
        result["mime_type"] = stored.mime_type
    return result


def _av(stored: StoredFile, duration: int, width: int, height: int) -> JSON:
    """Video, Audio, Animation or VideoNote: a video note is a square of side ``length``."""
    result: JSON = {**_common(stored), "duration": max(0, duration)}
    if stored.kind == "video_note":
        return {**result, "length": max(width, height)}
    if stored.kind != "audio":
        result.update(width=width, height=height)
    if stored.file_name:
        result["file_name"] = stored.file_name
    if stored.mime_type:
        result["mime_type"] = stored.mime_type
    return result


def _sticker(stored: StoredFile, emoji: str | None) -> JSON:
    width, height = webp_size(stored.data) or (0, 0)
    result: JSON = {
        **_common(stored),
        "type": "regular",
        "width": width,
        "height": height,
        "is_animated": False,
        "is_video": False,
    }
    if emoji:
        result["emoji"] = emoji
    return result


def file_info(world: World, file_id: str) -> JSON:
    """The File object getFile answers with (file_path is relative, as Telegram gives it)."""
    stored = world.files.get(file_id)
    if stored is None:
        raise bad_request("invalid file_id")
    if stored.size > world.file_limits.download:
        raise bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": stored.path,
    }


def by_path(world: World, path: str) -> StoredFile | None:
    return next((f for f in world.files.values() if f.path == path), None)
