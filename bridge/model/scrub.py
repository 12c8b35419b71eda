"""Metadata stripped from carried files other than images (images: ``bridge.model.media``).

Phones and office programs write where and on what a file was made into the file itself;
a copy in another city must not carry it. What is removed, per type:

- MP4, M4A, MOV, 3GP (ISO base media, recognised by its boxes, read with mutagen's parser):
  every ``udta`` and ``meta`` box of the movie and of its tracks (iTunes-style tags such as
  ``©mak``/``©mod``/``©too``, the ``©xyz`` GPS location, Apple's ``mdta`` keys such as
  ``com.apple.quicktime.location.ISO6709``), top-level ``meta`` and ``uuid`` boxes (XMP).
  Each is overwritten in place by a zero-filled ``free`` box of the same size, so sample
  offsets stay right and the audio and video bytes are untouched.
- Other audio mutagen knows (MP3 ID3 and APE tags, FLAC and Ogg Vorbis/Opus comments and
  pictures, WAV/AIFF ID3 chunks, WMA/ASF attributes): mutagen's ``delete``.
- PDF (pypdf): the document information dictionary (/Author, /Creator, /Producer, dates...),
  the XMP ``/Metadata`` streams of the catalog and of each page, and ``/PieceInfo``; the
  file is rewritten, so earlier incremental revisions go too. pypdf names itself as producer.
- Office Open XML (docx, xlsx, pptx and their macro/template kinds): ``docProps/core.xml``
  (creator, lastModifiedBy, dates, title...), ``docProps/app.xml`` (company, manager,
  application) and ``docProps/custom.xml`` are replaced by empty property sets.
- OpenDocument (odt, ods, odp...): ``meta.xml`` is replaced by an empty one.

Not removed (said in the README): authors of comments and tracked changes inside Office
documents, EXIF inside images embedded in a PDF or a document, and the creation times in
MP4 movie and track headers. A file whose type holds metadata that cannot be removed here
(an MP4 or PDF that does not parse, an encrypted PDF, legacy OLE Office files, audio or video
in a format nobody here reads) is refused: ``scrub`` returns None and the copy gets a note.
Other files (archives, text, ...) have no metadata this module knows of and pass unchanged.
"""

from __future__ import annotations

import io
import logging
import zipfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # mutagen is imported where a file needs it: most bridges carry no audio
    from mutagen.mp4 import Atom

log = logging.getLogger(__name__)

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls/.ppt: SummaryInformation
_IMAGE_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"avif")  # images, cleaned elsewhere
_MP4_TOP = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
_META_BOXES = (b"udta", b"meta", b"uuid")
_EMPTY_CORE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties xmlns:cp='
    b'"http://schemas.openxmlformats.org/package/2006/metadata/core-properties"/>'
)
_EMPTY_APP = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns='
    b'"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"/>'
)
_EMPTY_CUSTOM = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Properties xmlns='
    b'"http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"/>'
)
_EMPTY_ODF_META = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta xmlns:office='
    b'"urn:oasis:names:tc:opendocument:xmlns:office:1.0" office:version="1.2">'
    b"<office:meta/></office:document-meta>"
)
_OOXML_PARTS = {
    "docProps/core.xml": _EMPTY_CORE,
    "docProps/app.xml": _EMPTY_APP,
    "docProps/custom.xml": _EMPTY_CUSTOM,
}
AV_KINDS = ("video", "audio", "voice", "animation")


class Unscrubbable(Exception):
    """The file has metadata that could not be removed."""


def scrub(data: bytes, kind: str = "file") -> bytes | None:
    """``data`` without the metadata listed above; unchanged when its type has none known
    here; None when it has metadata that could not be removed (the caller carries a note).
    ``kind`` is the envelope's media kind: audio and video in no format read here are
    refused, since they nearly always carry tags."""
    try:
        if is_mp4(data):
            return _mp4(data)
        if data.startswith(b"%PDF-"):
            return _pdf(data)
        if data.startswith(b"PK\x03\x04"):
            return _zip_document(data)
        if data.startswith(_OLE2):
            return _refused("legacy OLE document")
        audio = _audio(data)
        if audio is not None:
            return audio
    except Unscrubbable as exc:
        return _refused(str(exc))
    if kind in AV_KINDS:
        log.info("a %s file in a format whose metadata is not read here; not carried", kind)
        return None
    return data


def _refused(why: str) -> bytes | None:
    """None: the verdict for a file whose metadata stays (logged without its name)."""
    log.info("a file kept its metadata (%s); not carried", why)
    return None


def is_mp4(data: bytes) -> bool:
    """ISO base media (MP4, M4A, MOV, 3GP), not an HEIF/AVIF image."""
    if data[4:8] == b"ftyp":
        return data[8:12] not in _IMAGE_BRANDS
    return data[4:8] in _MP4_TOP[1:]


def _mp4(data: bytes) -> bytes:
    from mutagen.mp4 import Atoms

    try:
        atoms = Atoms(io.BytesIO(data))
    except Exception as exc:  # mutagen raises several kinds for a broken file
        raise Unscrubbable(f"MP4 does not parse: {type(exc).__name__}") from None
    if not any(a.name == b"moov" for a in atoms.atoms):
        raise Unscrubbable("MP4 without a movie box")
    out = bytearray(data)
    for atom in _metadata_atoms(atoms.atoms, top=True):
        header = 16 if atom.length >= 2**32 or _is_large(data, atom) else 8
        if atom.length < header or atom.offset + atom.length > len(data):
            raise Unscrubbable("MP4 box out of bounds")
        out[atom.offset + 4 : atom.offset + 8] = b"free"
        out[atom.offset + header : atom.offset + atom.length] = bytes(atom.length - header)
    return bytes(out)


def _is_large(data: bytes, atom: Atom) -> bool:
    return data[atom.offset : atom.offset + 4] == b"\x00\x00\x00\x01"


def _metadata_atoms(children: list[Atom], *, top: bool) -> list[Atom]:
    """The metadata boxes: at the top (meta, uuid), in the movie and in each track."""
    found: list[Atom] = []
    for atom in children:
        if atom.name in _META_BOXES and (top or atom.name != b"uuid"):
            found.append(atom)
        elif atom.name in (b"moov", b"trak") and atom.children:
            found += _metadata_atoms(atom.children, top=False)
    return found


def _pdf(data: bytes) -> bytes:
    # pypdf is 20 MiB resident once imported: a bridge that never carries a PDF never loads it
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PyPdfError
    from pypdf.generic import NameObject

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise Unscrubbable("encrypted PDF")
        writer = PdfWriter(clone_from=reader)
        writer.metadata = None
        writer.xmp_metadata = None
        for owner in [writer.root_object, *(page for page in writer.pages)]:
            for name in ("/Metadata", "/PieceInfo"):
                if NameObject(name) in owner:
                    del owner[NameObject(name)]
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        out = io.BytesIO()
        writer.write(out)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise Unscrubbable(f"PDF does not parse: {type(exc).__name__}") from None
    return out.getvalue()


def _zip_document(data: bytes) -> bytes:
    """Office Open XML and OpenDocument files get empty property parts; other zip files
    pass unchanged (their entries are not opened)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as source:
            names = source.namelist()
            if "[Content_Types].xml" in names:
                replace = {n: v for n, v in _OOXML_PARTS.items() if n in names}
            elif "mimetype" in names and "meta.xml" in names:
                replace = {"meta.xml": _EMPTY_ODF_META}
            else:
                return data
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w") as target:
                for info in source.infolist():
                    body = replace.get(info.filename)
                    target.writestr(_fresh(info), source.read(info) if body is None else body)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise Unscrubbable(f"document does not open: {type(exc).__name__}") from None
    return out.getvalue()


def _fresh(info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """The entry's name and compression, with a neutral date and no comment or extra field
    (which can hold the creator's user id and times)."""
    fresh = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
    fresh.compress_type = info.compress_type
    fresh.external_attr = info.external_attr
    return fresh


def _audio(data: bytes) -> bytes | None:
    """Audio mutagen recognises, its tags deleted; None when mutagen does not know it."""
    import mutagen

    try:
        found: Any = mutagen.File(io.BytesIO(data))
    except mutagen.MutagenError:
        raise Unscrubbable("audio does not parse") from None
    if found is None:
        return None
    buffer = io.BytesIO(data)
    try:
        found.delete(buffer)
        if hasattr(found, "clear_pictures"):  # FLAC pictures are not tags
            found.clear_pictures()
            found.save(buffer)
    except mutagen.MutagenError:
        raise Unscrubbable("audio tags could not be removed") from None
    return buffer.getvalue()
