"""``translocal glossary export|import FILE --circle ID``: a circle's translation memory and
glossary (what members' accepted ``fix`` corrections and moderators' ``fix term`` taught it),
out to a file and back, as TMX 1.4 (``.tmx``, what translation tools exchange) or YAML.

The file holds members' texts: it is written with mode 0600, never over an existing file.

An import is all or nothing: the whole file is read and checked first (its size, its syntax,
every language code, every length), and only then written; one bad entry refuses the file with
one line naming it, and nothing changes. TMX is XML, so the parser refuses any DOCTYPE (no
entity can be declared, so none can expand: a "billion laughs" file is refused before it
costs anything), and reads with the standard library's expat, which fetches nothing.
Imported corrections belong to no message, so a retract does not purge them; they expire with
the rest of the memory (``retention.translation_memory_days``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET
from xml.parsers import expat

import yaml

from bridge.config.models import Config
from bridge.infra.connection import open_redis
from bridge.model.errors import TranslocalError
from bridge.relay.translate import circle_memory
from translation.languages import check_language
from translation.memory import MAX_SEGMENT, MAX_TERM, Segment, Term, normalize

MAX_FILE = 5 * 1024 * 1024  # bytes of a file to import
UNDETERMINED = "und"  # BCP 47: a term's own language is not known (typed in any language)
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class GlossaryRefused(TranslocalError):
    """The file, the circle or an entry is not acceptable; nothing was written."""

    exit_code = 2


@dataclass(frozen=True)
class Contents:
    segments: list[Segment]
    terms: list[Term]


async def export(config: Config, circle: str, path: Path) -> str:
    _circle(config, circle)
    handle = await open_redis(config.redis, config.data_dir)
    try:
        memory = circle_memory(config, handle.client)
        found = Contents(await memory.segments(circle), await memory.terms(circle))
    finally:
        await handle.close()
    text = to_tmx(found) if path.suffix.lower() == ".tmx" else to_yaml(circle, found)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise GlossaryRefused(f"{path}: exists; export writes a new file") from None
    except OSError as exc:
        raise GlossaryRefused(f"{path}: cannot be written ({exc.strerror})") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    return f"{len(found.segments)} corrections and {len(found.terms)} terms of {circle} -> {path}"


async def import_file(config: Config, circle: str, path: Path) -> str:
    _circle(config, circle)
    found = read(path)  # everything checked before anything is written
    handle = await open_redis(config.redis, config.data_dir)
    try:
        memory = circle_memory(config, handle.client)
        for segment in found.segments:
            await memory.learn(circle, segment, None)
        for term in found.terms:
            await memory.add_term(circle, term)
    finally:
        await handle.close()
    return f"{len(found.segments)} corrections and {len(found.terms)} terms -> {circle}"


def _circle(config: Config, circle: str) -> None:
    if circle not in {c.id for c in config.circles}:
        known = ", ".join(c.id for c in config.circles) or "none"
        raise GlossaryRefused(f"no circle {circle!r} in the config (circles: {known})")


def read(path: Path) -> Contents:
    """The file's entries, every one checked; GlossaryRefused names the first bad one."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE:
            raise GlossaryRefused(f"{path}: {size / 1e6:.1f} MB; at most {MAX_FILE // 2**20} MB")
        raw = path.read_bytes()
    except OSError as exc:
        raise GlossaryRefused(f"{path}: cannot be read ({exc.strerror})") from None
    if path.suffix.lower() == ".tmx":
        return _from_tmx(path, raw)
    return _from_yaml(path, raw)


def _language(where: str, code: object) -> str:
    try:
        return check_language(str(code))
    except ValueError as exc:
        raise GlossaryRefused(f"{where}: {exc}") from None


def _text(where: str, value: object, most: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise GlossaryRefused(f"{where}: an empty or missing text")
    if len(value) > most:
        raise GlossaryRefused(f"{where}: {len(value)} characters; at most {most}")
    return value


def _segment(where: str, source: object, target: object, text: object, fixed: object) -> Segment:
    return Segment(
        _language(where, source),
        _language(where, target),
        normalize(_text(where, text, MAX_SEGMENT)),
        _text(where, fixed, MAX_SEGMENT),
    )


def _term(where: str, term: object, target: object, translation: object) -> Term:
    word = _text(where, term, MAX_TERM).strip()
    return Term(word, _language(where, target), _text(where, translation, MAX_TERM).strip())


def _from_yaml(path: Path, raw: bytes) -> Contents:
    try:
        data: Any = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f":{line + 1}" if line is not None else ""
        raise GlossaryRefused(f"{path}{at}: not valid UTF-8 YAML") from None
    if not isinstance(data, dict):
        raise GlossaryRefused(f"{path}: expected keys 'segments' and 'terms'")
    segments, terms = data.get("segments") or [], data.get("terms") or []
    if not isinstance(segments, list) or not isinstance(terms, list):
        raise GlossaryRefused(f"{path}: 'segments' and 'terms' are lists")
    out = Contents([], [])
    for i, item in enumerate(segments):
        where = f"{path}: segments[{i}]"
        if not isinstance(item, dict):
            raise GlossaryRefused(f"{where}: expected from, to, text, corrected")
        out.segments.append(
            _segment(where, item.get("from"), item.get("to"), item.get("text"),
                     item.get("corrected"))
        )  # fmt: skip
    for i, item in enumerate(terms):
        where = f"{path}: terms[{i}]"
        if not isinstance(item, dict):
            raise GlossaryRefused(f"{where}: expected term, to, translation")
        out.terms.append(_term(where, item.get("term"), item.get("to"), item.get("translation")))
    return out


def to_yaml(circle: str, found: Contents) -> str:
    data = {
        "circle": circle,
        "segments": [
            {"from": s.source, "to": s.target, "text": s.text, "corrected": s.corrected}
            for s in found.segments
        ],
        "terms": [
            {"term": t.term, "to": t.target, "translation": t.translation} for t in found.terms
        ],
    }
    return "# translocal glossary: a circle's corrections and terms\n" + yaml.safe_dump(
        data, allow_unicode=True, sort_keys=False
    )


def _refuse_declarations(path: Path, raw: bytes) -> None:
    """expat, told to stop at a DOCTYPE or any declaration: nothing can expand."""

    def refuse(*_args: object) -> None:
        raise GlossaryRefused(f"{path}: a DOCTYPE or entity declaration; TMX files need none")

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        raise GlossaryRefused(f"{path}:{exc.lineno}: not well-formed XML") from None


def _from_tmx(path: Path, raw: bytes) -> Contents:
    _refuse_declarations(path, raw)
    root = ET.fromstring(raw)  # noqa: S314 - declarations were refused above
    if root.tag != "tmx":
        raise GlossaryRefused(f"{path}: not a TMX file (the root element is <{root.tag}>)")
    out = Contents([], [])
    for i, unit in enumerate(root.iter("tu")):
        where = f"{path}: translation unit {i + 1}"
        kind = next((p.text for p in unit.iter("prop") if p.get("type") == "x-translocal"), "")
        variants = [(v.get(_XML_LANG) or v.get("lang") or "", v.findtext("seg") or "")
                    for v in unit.iter("tuv")]  # fmt: skip
        if len(variants) != 2:
            raise GlossaryRefused(f"{where}: expected two <tuv>, a source and a target")
        (source, text), (target, fixed) = variants
        if kind == "term":
            out.terms.append(_term(where, text, target, fixed))
        else:
            out.segments.append(_segment(where, source, target, text, fixed))
    return out


def to_tmx(found: Contents) -> str:
    root = ET.Element("tmx", version="1.4")
    header = {"creationtool": "translocal", "creationtoolversion": "1", "segtype": "paragraph",
              "o-tmf": "translocal", "adminlang": "en", "srclang": "*all*",
              "datatype": "plaintext"}  # fmt: skip
    ET.SubElement(root, "header", header)
    body = ET.SubElement(root, "body")

    def unit(kind: str, source: str, text: str, target: str, fixed: str) -> None:
        tu = ET.SubElement(body, "tu")
        ET.SubElement(tu, "prop", type="x-translocal").text = kind
        for lang, seg in ((source, text), (target, fixed)):
            tuv = ET.SubElement(tu, "tuv", {_XML_LANG: lang})
            ET.SubElement(tuv, "seg").text = seg

    for s in found.segments:
        unit("segment", s.source, s.text, s.target, s.corrected)
    for t in found.terms:
        unit("term", UNDETERMINED, t.term, t.target, t.translation)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
