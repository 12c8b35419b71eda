"""Carried video, audio and documents lose where and on what they were made; content stays.

The files are made here, by the libraries a phone's or office program's output is read with
(mutagen writes the MP4 tags, pypdf the PDF info and XMP, zipfile the docx parts), then taken
through ``MediaStore.take`` and through the relay between in-memory rooms.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

from mutagen.mp4 import MP4
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, IndirectObject, NameObject
from redis.asyncio import Redis

from bridge.model.envelope import Media
from bridge.model.media import MediaStore
from tests.harness import eventually, memory_config, running

STREAM = bytes(range(256)) * 8  # the "audio/video samples" in mdat: must arrive intact
GPS = "+19.4326-099.1332/"
SECRET_WORDS = (b"PhoneMaker", b"Pixel 9 Pro", GPS.encode(), b"Ana Lopez", b"Secret Producer")


def _box(name: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + name + body


def mp4_with_gps(brand: bytes = b"isom") -> bytes:
    """A minimal MP4 (ftyp, moov with mvhd, mdat), then tagged by mutagen: a GPS location,
    the device's make and model, and a raw ``©xyz`` box in the movie's udta as Android writes."""
    mvhd = _box(b"mvhd", bytes(4) + struct.pack(">IIII", 0, 0, 1000, 5000) + bytes(80))
    udta = _box(b"udta", _box(b"\xa9xyz", struct.pack(">HH", len(GPS), 0) + GPS.encode()))
    raw = (
        _box(b"ftyp", brand + bytes(4) + brand) + _box(b"moov", mvhd + udta) + _box(b"mdat", STREAM)
    )
    path = io.BytesIO(raw)
    tagged = MP4(path)
    assert tagged.tags is None
    tagged.add_tags()
    assert tagged.tags is not None
    tagged.tags["\xa9mak"] = ["PhoneMaker"]
    tagged.tags["\xa9mod"] = ["Pixel 9 Pro"]
    tagged.tags["\xa9too"] = ["Ana Lopez's phone"]
    tagged.save(path)
    return path.getvalue()


def pdf_with_author() -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    content = DecodedStreamObject()
    content.set_data(b"BT /F1 12 Tf 20 100 Td (Blockade at dawn) Tj ET")
    font = writer._add_object(_font())
    page[NameObject("/Resources")] = _resources(font)
    page[NameObject("/Contents")] = writer._add_object(content)
    writer.add_metadata({"/Author": "Ana Lopez", "/Producer": "Secret Producer"})
    writer.xmp_metadata = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><dc:creator>Ana Lopez</dc:creator>'
        b"<exif:GPS>+19.4326-099.1332/</exif:GPS></rdf:RDF></x:xmpmeta>"
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _font() -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )


def _resources(font: IndirectObject) -> DictionaryObject:
    fonts = DictionaryObject({NameObject("/F1"): font})
    return DictionaryObject({NameObject("/Font"): fonts})


CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
    'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">'
    "<dc:creator>Ana Lopez</dc:creator><cp:lastModifiedBy>Secret Producer</cp:lastModifiedBy>"
    "</cp:coreProperties>"
)
BODY = "Asamblea el jueves a las 18:00"


def docx_with_creator() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<Types xmlns="x"/>')
        z.writestr("_rels/.rels", "<Relationships/>")
        z.writestr("docProps/core.xml", CORE)
        z.writestr("docProps/app.xml", "<Properties><Company>PhoneMaker</Company></Properties>")
        z.writestr("word/document.xml", f"<w:document><w:t>{BODY}</w:t></w:document>")
    return out.getvalue()


def _mdat(data: bytes) -> bytes:
    at = data.index(b"mdat")
    size = struct.unpack(">I", data[at - 4 : at])[0]
    return data[at + 4 : at - 4 + size]


def assert_clean(data: bytes) -> None:
    for word in SECRET_WORDS:
        assert word not in data, word


# ---- MediaStore.take -------------------------------------------------------------------


async def test_an_mp4_loses_its_gps_and_device_tags_and_keeps_its_stream(
    redis_client: Redis,
) -> None:
    raw = mp4_with_gps()
    assert b"PhoneMaker" in raw
    assert GPS.encode() in raw
    store = MediaStore(redis_client, ttl_s=3600)
    taken = await store.take(Media(kind="video", mime="video/mp4", name="clip.mp4"), raw)
    assert taken.blob, taken.note
    data = await store.get(taken.blob)
    assert data is not None
    assert_clean(data)
    assert _mdat(data) == STREAM  # the samples, byte for byte
    assert len(data) == len(raw)  # boxes blanked in place: sample offsets stay right
    assert not MP4(io.BytesIO(data)).tags


async def test_an_m4a_voice_note_loses_its_tags(redis_client: Redis) -> None:
    store = MediaStore(redis_client, ttl_s=3600)
    taken = await store.take(Media(kind="voice", mime="audio/mp4"), mp4_with_gps(b"M4A "))
    data = await store.get(taken.blob)
    assert data is not None
    assert_clean(data)
    assert _mdat(data) == STREAM


async def test_a_pdf_loses_author_producer_and_xmp_and_keeps_its_text(
    redis_client: Redis,
) -> None:
    raw = pdf_with_author()
    assert b"Ana Lopez" in raw
    store = MediaStore(redis_client, ttl_s=3600)
    taken = await store.take(Media(kind="file", name="plan.pdf", mime="application/pdf"), raw)
    data = await store.get(taken.blob)
    assert data is not None
    assert_clean(data)
    reader = PdfReader(io.BytesIO(data))
    assert reader.xmp_metadata is None
    assert "/Author" not in (reader.metadata or {})
    assert "Blockade at dawn" in reader.pages[0].extract_text()


async def test_a_docx_loses_creator_and_last_modified_by_and_keeps_its_body(
    redis_client: Redis,
) -> None:
    store = MediaStore(redis_client, ttl_s=3600)
    taken = await store.take(Media(kind="file", name="acta.docx"), docx_with_creator())
    data = await store.get(taken.blob)
    assert data is not None
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            assert_clean(z.read(name))
        assert BODY in z.read("word/document.xml").decode()
        assert "creator" not in z.read("docProps/core.xml").decode()


async def test_metadata_that_cannot_be_removed_is_a_note_not_a_file(redis_client: Redis) -> None:
    store = MediaStore(redis_client, ttl_s=3600)
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"Ana Lopez" * 10  # a legacy .doc
    doc = await store.take(Media(kind="file", name="acta.doc"), ole)
    assert not doc.blob
    assert (
        doc.describe()
        == "[file, acta.doc, 98 bytes, not carried: its metadata could not be removed]"
    )
    broken = await store.take(Media(kind="file", name="x.pdf"), b"%PDF-1.7 Ana Lopez broken")
    assert not broken.blob
    unknown_video = await store.take(Media(kind="video", name="v.xyz"), b"\x00" * 64)
    assert not unknown_video.blob
    plain = await store.take(Media(kind="file", name="list.csv"), b"name,street\n")
    assert await store.get(plain.blob) == b"name,street\n"  # no metadata: as it was


# ---- through the relay ------------------------------------------------------------------


async def test_files_reach_the_other_room_without_their_metadata(
    tmp_path: Path, redis_url: str, redis_client: Redis
) -> None:
    loaded = memory_config(tmp_path, redis_url)
    async with running(loaded) as (app, net):
        store = MediaStore(app.redis.client, 3600)  # as the origin's adapter does at ingest
        files = {
            "clip": (Media(kind="video", name="clip.mp4"), mp4_with_gps()),
            "plan": (Media(kind="file", name="plan.pdf"), pdf_with_author()),
            "acta": (Media(kind="file", name="acta.docx"), docx_with_creator()),
        }
        for text, (media, raw) in files.items():
            taken = await store.take(media, raw)
            await net.bot("a").post("a1", text, media=taken)
        await eventually(lambda: len(net.seen_in("b1")) == 3, what="three files in Berlin")
        arrived = {m.text.split(": ", 1)[1].split(" ·")[0]: m.file for m in net.seen_in("b1")}
    clip, plan, acta = arrived["clip"], arrived["plan"], arrived["acta"]
    assert clip is not None
    assert plan is not None
    assert acta is not None
    for data in (clip, plan):
        assert_clean(data)
    assert _mdat(clip) == STREAM
    assert "Blockade at dawn" in PdfReader(io.BytesIO(plan)).pages[0].extract_text()
    with zipfile.ZipFile(io.BytesIO(acta)) as z:
        assert all(w not in z.read(n) for n in z.namelist() for w in SECRET_WORDS)
        assert BODY in z.read("word/document.xml").decode()
