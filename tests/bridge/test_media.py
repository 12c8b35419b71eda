"""Carried media: images lose their metadata, bytes come back intact, limits give notes."""

from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin
from redis.asyncio import Redis

from bridge.model import media as media_mod
from bridge.model.envelope import Media
from bridge.model.media import MediaStore, clean_image


def jpeg_with_gps(*, orientation: int = 1, size: tuple[int, int] = (40, 20)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[2] = (19.0, 25.0, 57.0)  # GPSLatitude: Mexico City
    gps[4] = (99.0, 7.0, 59.0)
    out = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>GPS 19.43</rdf:RDF></x:xmpmeta>'
    image.save(out, "JPEG", exif=exif, comment=b"taken at the assembly", xmp=xmp)
    return out.getvalue()


def test_a_jpeg_loses_exif_gps_and_comment() -> None:
    raw = jpeg_with_gps()
    assert b"PhoneMaker" in raw
    assert b"assembly" in raw
    assert b"GPS 19.43" in raw
    cleaned = clean_image(raw)
    assert cleaned is not None
    assert cleaned.mime == "image/jpeg"
    assert b"PhoneMaker" not in cleaned.data
    assert b"assembly" not in cleaned.data
    assert b"GPS 19.43" not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert not image.getexif()
        assert (image.width, image.height) == (40, 20)


def test_orientation_is_applied_before_the_exif_goes() -> None:
    cleaned = clean_image(jpeg_with_gps(orientation=6))  # "rotate 90° clockwise to view"
    assert cleaned is not None
    assert (cleaned.width, cleaned.height) == (20, 40)  # upright, as the sender saw it
    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert image.size == (20, 40)
        assert not image.getexif()


def test_png_text_chunks_are_dropped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Location", "Calle Falsa 123")
    out = io.BytesIO()
    Image.new("RGBA", (8, 8)).save(out, "PNG", pnginfo=info)
    cleaned = clean_image(out.getvalue())
    assert cleaned is not None
    assert cleaned.mime == "image/png"
    assert b"Calle Falsa" not in cleaned.data


def test_unreadable_and_oversized_images_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert clean_image(b"\xff\xd8\xff\xe0 not really a jpeg") is None
    monkeypatch.setattr(media_mod, "MAX_PIXELS", 100)
    assert clean_image(jpeg_with_gps(size=(20, 20))) is None


def test_describe_is_an_honest_note() -> None:
    photo = Media(kind="photo", size=12 * 1024 * 1024)
    assert photo.describe("too large to carry") == "[photo, 12 MB, too large to carry]"
    doc = Media(kind="file", name="lease.pdf", size=2048, note="not carried")
    assert doc.describe() == "[file, lease.pdf, 2 KB, not carried]"
    assert Media(kind="sticker", emoji="✊").describe() == "[sticker ✊]"


async def test_the_store_cleans_images_and_returns_bytes_intact(redis_client: Redis) -> None:
    store = MediaStore(redis_client, ttl_s=3600)
    taken = await store.take(Media(kind="photo", mime="image/jpeg"), jpeg_with_gps())
    assert taken.blob
    assert not taken.note
    data = await store.get(taken.blob)
    assert data is not None
    assert b"PhoneMaker" not in data
    assert taken.size == len(data)
    assert 0 < await redis_client.ttl(taken.blob) <= 3600

    binary = bytes(range(256)) * 10  # not an image: carried byte for byte
    pdf = await store.take(Media(kind="file", name="a.bin", mime="application/pdf"), binary)
    assert await store.get(pdf.blob) == binary

    disguised = await store.take(  # a JPEG sent as a generic file is still cleaned
        Media(kind="file", name="x.dat", mime="application/octet-stream"), jpeg_with_gps()
    )
    cleaned = await store.get(disguised.blob)
    assert cleaned is not None
    assert b"PhoneMaker" not in cleaned

    broken = await store.take(Media(kind="photo"), b"\x89PNG\r\n\x1a\n broken")
    assert not broken.blob
    assert broken.describe() == "[photo, 15 bytes, not carried: unreadable image]"


async def test_too_large_is_a_note_not_a_blob(
    redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media_mod, "MAX_CARRY", 1000)
    store = MediaStore(redis_client, ttl_s=3600)
    taken = await store.take(Media(kind="file", name="big.zip"), b"x" * 2000)
    assert not taken.blob
    assert taken.describe() == "[file, big.zip, 2 KB, too large to carry]"
