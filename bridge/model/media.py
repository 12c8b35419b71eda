"""Media in flight: bytes stored once in Redis by content hash, expiring; metadata removed.

An adapter that takes a file in calls ``MediaStore.take``: images are re-encoded without
their EXIF/GPS/XMP metadata (orientation applied first, so nothing turns sideways), the bytes
go to Redis under ``tl:media:<sha256>`` with the recent-messages retention, and the
envelope carries a ``Media`` naming that key. The delivering adapter reads the bytes back
with ``get``. Video, audio and documents lose their metadata in ``bridge.model.scrub``
(which lists what goes, per type). A file that cannot be cleaned is not carried: its
metadata could not be removed, so the copy gets a note instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from redis.asyncio import Redis

from bridge.model import keys, media_note
from bridge.model.envelope import Media
from bridge.model.scrub import scrub

if TYPE_CHECKING:  # Pillow is imported when an image is carried: a few MiB a bridge may never need
    from PIL import Image

log = logging.getLogger(__name__)

MAX_CARRY = 20 * 1024 * 1024  # the most the bridge takes in (Telegram bots can fetch 20 MB)
MAX_PIXELS = 50_000_000  # larger images are refused (decompression bombs)
_MAGIC = (  # image formats recognised by their first bytes, whatever the sender called them
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF8",
    b"II*\x00",  # TIFF, little- and big-endian
    b"MM\x00*",
)


def looks_like_image(data: bytes, mime: str = "") -> bool:
    """True when the bytes are (or claim to be) an image whose metadata must be cleaned."""
    if mime.startswith("image/"):
        return True
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return True
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return True
    return data.startswith(_MAGIC)


@dataclass(frozen=True)
class Cleaned:
    data: bytes
    mime: str
    width: int
    height: int


def clean_image(data: bytes) -> Cleaned | None:
    """The image without its metadata, or None when it cannot be read (or is a bomb).

    JPEG stays JPEG with its quantization tables when no rotation is needed (no visible loss);
    PNG, WebP and GIF keep their format (animation kept); anything else becomes PNG. Only the
    colour profile survives: it holds no personal data and keeps colours right.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None
                return _reencode(image)
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            OSError, ValueError, SyntaxError):  # fmt: skip
        return None


def _reencode(image: Image.Image) -> Cleaned:
    from PIL import ImageOps

    fmt = image.format or "PNG"
    icc = image.info.get("icc_profile")
    extra: dict[str, Any] = {"icc_profile": icc} if icc else {}
    out = io.BytesIO()
    if getattr(image, "is_animated", False) and fmt in ("GIF", "WEBP"):
        _forget(image, icc)
        image.save(out, fmt, save_all=True, **extra)
        return Cleaned(out.getvalue(), f"image/{fmt.lower()}", image.width, image.height)
    upright = (ImageOps.exif_transpose(image) if image.getexif() else None) or image
    _forget(upright, icc)
    _forget(image, icc)
    if fmt == "JPEG":
        if upright is image:  # no rotation: keep the quantization tables, no visible loss
            image.save(out, "JPEG", quality="keep", **extra)
        else:
            upright.save(out, "JPEG", quality=92, **extra)
        return Cleaned(out.getvalue(), "image/jpeg", upright.width, upright.height)
    if fmt not in ("PNG", "WEBP", "GIF"):
        fmt = "PNG"
        if upright.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            upright = upright.convert("RGBA")
    upright.save(out, fmt, **extra)
    return Cleaned(out.getvalue(), f"image/{fmt.lower()}", upright.width, upright.height)


def _forget(image: Image.Image, icc: object) -> None:
    """Pillow writes back what ``info`` holds (comment, XMP, EXIF): keep only the profile."""
    image.info.clear()
    if icc:
        image.info["icc_profile"] = icc


class MediaStore:
    """Bytes of carried media in Redis, by content hash, expiring after ``ttl_s``."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = max(ttl_s, 3600)  # at least long enough for a throttled delivery

    async def take(self, media: Media, data: bytes) -> Media:
        """Store ``data`` for ``media`` (its metadata removed first); the Media to put in the
        envelope: with ``blob`` set, or with a ``note`` saying why it is not carried."""
        if len(data) > MAX_CARRY:
            return media.model_copy(update={"size": len(data), "note": media_note.TOO_LARGE})
        if media.kind in ("photo", "sticker") or looks_like_image(data, media.mime):
            cleaned = clean_image(data)
            if cleaned is None:
                log.info("an image could not be read to remove its metadata; not carried")
                return media.model_copy(
                    update={"size": len(data), "note": media_note.UNREADABLE_IMAGE}
                )
            name = media.name
            if name and media.mime != cleaned.mime and "." in name:
                name = name.rsplit(".", 1)[0] + "." + cleaned.mime.split("/")[1]
            shape = {"mime": cleaned.mime, "width": cleaned.width, "height": cleaned.height}
            media = media.model_copy(update={**shape, "name": name})
            data = cleaned.data
        else:
            scrubbed = await asyncio.to_thread(scrub, data, media.kind)  # pypdf can be slow
            if scrubbed is None:
                return media.model_copy(update={"size": len(data), "note": media_note.UNCLEANABLE})
            data = scrubbed
        key = keys.media(hashlib.sha256(data).hexdigest())
        await self.redis.set(key, data, ex=self.ttl_s)
        return media.model_copy(update={"blob": key, "size": len(data), "note": ""})

    async def get(self, blob: str) -> bytes | None:
        """The bytes, or None once they expired."""
        value = await self.redis.execute_command("GET", blob, NEVER_DECODE=True)
        return cast(bytes | None, value)

    async def drop(self, blob: str) -> None:
        await self.redis.delete(blob)
