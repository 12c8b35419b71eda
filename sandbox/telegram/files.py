"""Uploaded files: storing them under file_ids, their PhotoSize / Document shapes, file paths.

Telegram reads an uploaded photo's dimensions and refuses what is not an image; this sandbox
reads PNG, GIF and JPEG headers for the same purpose (it keeps one size, the original).
"""

from __future__ import annotations

import mimetypes
import secrets
import struct

from sandbox.telegram.entities import JSON
from sandbox.telegram.model import StoredFile
from sandbox.telegram.params import Upload
from sandbox.telegram.world import World, bad_request

DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile serves files up to 20 MB


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


def store_upload(world: World, upload: Upload, folder: str, *, photo: bool) -> StoredFile:
    """Keeps an upload's bytes under a new file_id."""
    if not upload.data:
        raise bad_request("file must be non-empty")
    mime = upload.content_type
    if not mime or mime == "application/octet-stream":
        guessed = mimetypes.guess_type(upload.filename or "")[0]
        mime = guessed or mime
    if photo:
        mime = "image/jpeg"
    extension = ".jpg" if photo else mimetypes.guess_extension(mime or "") or ""
    if not photo and upload.filename and "." in upload.filename:
        extension = "." + upload.filename.rsplit(".", 1)[1]
    prefix = "AgACAgIAAxkBAA" if photo else "BQACAgIAAxkBAA"
    stored = StoredFile(
        file_id=prefix + secrets.token_urlsafe(40),
        file_unique_id="AQAD" + secrets.token_urlsafe(9),
        data=upload.data,
        path=f"{folder}/file_{len(world.files)}{extension}",
        mime_type=mime,
        file_name=upload.filename,
    )
    world.files[stored.file_id] = stored
    return stored


def existing(world: World, file_id: str) -> StoredFile:
    """A file sent again by its file_id (URLs are not fetched: nothing leaves this machine)."""
    stored = world.files.get(file_id)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    return stored


def photo_sizes(stored: StoredFile) -> list[JSON]:
    """The photo field of a Message: Telegram's PhotoSize list (here one size, the original)."""
    size = image_size(stored.data)
    if size is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    width, height = size
    return [
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "width": width,
            "height": height,
        }
    ]


def document(stored: StoredFile) -> JSON:
    """The document field of a Message."""
    result: JSON = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
    }
    if stored.file_name:
        result["file_name"] = stored.file_name
    if stored.mime_type:
        result["mime_type"] = stored.mime_type
    return result


def file_info(world: World, file_id: str) -> JSON:
    """The File object getFile answers with (file_path is relative, as Telegram gives it)."""
    stored = world.files.get(file_id)
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > DOWNLOAD_LIMIT:
        raise bad_request("file is too big")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "file_path": stored.path,
    }


def by_path(world: World, path: str) -> StoredFile | None:
    return next((f for f in world.files.values() if f.path == path), None)
