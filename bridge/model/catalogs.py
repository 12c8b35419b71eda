"""The message catalogs the bridge's own texts come from: gettext ``.po`` files read with Babel.

Shipped: ``bridge/locales/<lang>/LC_MESSAGES/translocal.po`` (package data, read at start-up:
no compile step, so a wheel works as installed), extracted into ``bridge/locales/translocal.pot``.
The shipped files are read by ``read_light``, a small reader of the well-formed .po files
``write_po`` writes (about 1.5 MiB less resident than Babel's reader, which also loads each
language's CLDR data for its plural rule: issue 23); tests/bridge/test_cldr.py checks that it
reads each shipped file exactly as Babel does, and tests/bridge/test_i18n.py checks the files
with Babel's own checkers.
An operator's ``translation.locale_dir`` adds languages or corrects wordings: each ``.po`` in
it (``<lang>.po`` or ``<lang>/LC_MESSAGES/translocal.po``) is laid over the shipped catalog of
its language, entry by entry. A file that does not parse, or a translation whose placeholders
differ from its msgid's, is a ``Problem`` (file, line, msgid): ``check`` reports it, ``run``
refuses to start with it. The composition root installs the catalogs once with ``use``;
until then ``active`` is the shipped set.

    python -m bridge.model.catalogs extract   # rewrite the .pot from the code
    python -m bridge.model.catalogs update    # merge the .pot into every shipped .po
"""

from __future__ import annotations

import gettext
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Babel's catalog reader: for an operator's files and the maintainer's tools
    from babel.messages.catalog import Catalog

LOCALES = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "translocal"
POT = LOCALES / f"{DOMAIN}.pot"
SOURCES = ("bridge", "bots")  # where texts are marked, relative to the project root
KEYWORDS: dict[str, tuple[int, ...] | None] = {"_": None, "ngettext": (1, 2)}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a .po file, said the way ``check`` prints it."""

    path: Path
    line: int
    msgid: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: msgid {self.msgid!r}: {self.what}"


class CatalogError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Table:
    """One language: msgid -> its translation (plural msgids -> every form)."""

    entries: dict[str, tuple[str, ...]] = field(default_factory=dict)
    plural: Callable[[int], int] = field(default=lambda n: int(n != 1))


def _names(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def _forms(value: object) -> tuple[str, ...]:
    """A message's id or string as a tuple (Babel gives a str, or a tuple for plurals)."""
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()


def _placeholders(ids: tuple[str, ...], strings: tuple[str, ...]) -> str | None:
    """What is wrong with a translation's placeholders (a plural form may leave out ``{n}``)."""
    wanted = _names(ids[-1]) | _names(ids[0])
    for string in strings:
        if not string:
            continue
        names = _names(string)
        extra = wanted - names - ({"n"} if len(ids) > 1 else set())
        if names - wanted or extra:
            return f"placeholders {sorted(names)} in the translation, {sorted(wanted)} in the msgid"
    return None


def problems_of(catalog: Catalog, path: Path) -> list[Problem]:
    """Placeholders that differ from the msgid's (a plural form may leave out ``{n}``), and
    plural entries with the wrong number of forms (Babel's checker)."""
    from babel.messages.checkers import num_plurals

    found: list[Problem] = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids, strings = _forms(message.id), _forms(message.string)
        msgid = ids[0]
        what = _placeholders(ids, strings)
        if what is not None:
            found.append(Problem(path, message.lineno or 0, msgid, what))
        if len(ids) > 1:
            try:
                num_plurals(catalog, message)
            except Exception as exc:
                found.append(Problem(path, message.lineno or 0, msgid, str(exc)))
    return found


_KEYWORD = r"(?:msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)"
_QUOTED = re.compile(rf'^(?:{_KEYWORD}\s+)?"(?:[^"\\]|\\.)*"$')


def _syntax(path: Path, text: str) -> Problem | None:
    """The first line that is not a comment, a blank or a well-quoted string. Babel's reader
    is lenient there: an unclosed quote silently loses the last character of a text."""
    msgid = ""
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not _QUOTED.match(line):
            return Problem(path, number, msgid, f"does not parse: {line[:60]!r}")
        if line.startswith("msgid "):
            msgid = line[len("msgid ") :].strip('"')
    return None


_ESCAPE = re.compile(r'\\([\\trn"])')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _unquote(quoted: str) -> str:
    """A .po string's text, unescaped as Babel unescapes it."""
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), quoted[1:-1])


Entries = list[tuple[str, tuple[str, ...]]]


def read_light(path: Path) -> tuple[str, str, Entries] | Problem:
    """A shipped .po file without Babel: its language, its plural expression (from the
    ``Language`` and ``Plural-Forms`` headers) and its translated, not fuzzy entries (msgid ->
    every form, plural forms padded to ``nplurals``), or the first Problem (syntax, or
    placeholders that differ from the msgid's)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Problem(path, 0, "", f"cannot be read: {exc}")
    wrong = _syntax(path, text)
    if wrong is not None:
        return wrong
    blocks: list[tuple[int, bool, dict[str, str]]] = []  # (line, fuzzy, keyword -> text)
    fields: dict[str, str] = {}
    line_of, fuzzy, keyword = 0, False, ""
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        starts = line.startswith(("#", "msgid ", "msgctxt "))
        if starts and any(k.startswith("msgstr") for k in fields):
            blocks.append((line_of, fuzzy, fields))
            fields, fuzzy = {}, False
        if line.startswith("#,"):
            fuzzy = fuzzy or "fuzzy" in (flag.strip() for flag in line[2:].split(","))
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            fields[keyword] += _unquote(line)
            continue
        keyword, quoted = line.split(None, 1)
        line_of = number if keyword == "msgid" else line_of
        fields[keyword] = _unquote(quoted)
    if fields:
        blocks.append((line_of, fuzzy, fields))
    headers = dict(
        (name.strip().lower(), value.strip())
        for name, _, value in (h.partition(":") for h in _header(blocks).splitlines())
    )
    params = dict(p.strip().partition("=")[::2] for p in headers.get("plural-forms", "").split(";"))
    plural, forms = params.get("plural") or "(n != 1)", int(params.get("nplurals") or 2)
    language = re.split(r"[_@-]", headers.get("language", ""))[0].lower()
    if not language:
        language = path.parent.parent.name if path.parent.name == "LC_MESSAGES" else path.stem
    entries: Entries = []
    for number, is_fuzzy, block in blocks:
        msgid = block.get("msgid", "")
        ids: tuple[str, ...]
        if "msgid_plural" in block:
            ids = (msgid, block["msgid_plural"])
            strings = tuple(block.get(f"msgstr[{i}]", "") for i in range(forms))
        else:
            ids, strings = (msgid,), (block.get("msgstr", ""),)
        what = _placeholders(ids, strings) if msgid and any(strings) else None
        if what is not None:
            return Problem(path, number, msgid, what)
        if msgid and any(strings) and not is_fuzzy:
            entries.append((msgid, strings))
    return language, plural, entries


def _header(blocks: list[tuple[int, bool, dict[str, str]]]) -> str:
    for _line, _fuzzy, block in blocks:
        if block.get("msgid") == "" and "msgctxt" not in block:
            return block.get("msgstr", "")
    return ""


def read(path: Path) -> tuple[Catalog | None, list[Problem]]:
    """A .po file, and what is wrong in it (a file that does not parse: no catalog)."""
    try:
        wrong = _syntax(path, path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(path, 0, "", f"cannot be read: {exc}")]
    if wrong is not None:
        return None, [wrong]
    from babel.messages.pofile import PoFileError, read_po

    try:
        with path.open("rb") as f:
            catalog = read_po(f, abort_invalid=True)
    except PoFileError as exc:
        return None, [Problem(path, exc.lineno, exc.line.strip(), f"does not parse: {exc}")]
    except (OSError, ValueError) as exc:
        return None, [Problem(path, 0, "", f"cannot be read: {exc}")]
    return catalog, problems_of(catalog, path)


def _language(path: Path, catalog: Catalog) -> str:
    if catalog.locale is not None:
        return str(catalog.locale.language)
    return path.parent.parent.name if path.parent.name == "LC_MESSAGES" else path.stem


def po_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.po") if p.is_file())


class Catalogs:
    """Every language the bridge has its own texts in."""

    def __init__(self, tables: dict[str, Table]) -> None:
        self.tables = tables

    @classmethod
    def load(cls, extra: Path | None = None) -> Catalogs:
        """The shipped catalogs, with ``extra``'s laid over them. Raises CatalogError."""
        tables: dict[str, Table] = {}
        problems: list[Problem] = []
        for path in po_files(LOCALES):
            light = read_light(path)
            if isinstance(light, Problem):
                problems.append(light)
            else:
                language, plural, entries = light
                tables.setdefault(language, Table(plural=gettext.c2py(plural))).entries.update(
                    entries
                )
        for path in po_files(extra) if extra else []:  # an operator's: checked with Babel
            catalog, wrong = read(path)
            problems += wrong
            if catalog is not None and not wrong:
                table = tables.setdefault(_language(path, catalog), Table())
                table.plural = gettext.c2py(catalog.plural_expr)
                table.entries.update(_entries(catalog))
        if problems:
            raise CatalogError(problems)
        return cls(tables)

    def has(self, language: str) -> bool:
        return language.split("-")[0] in self.tables

    def languages(self) -> list[str]:
        return sorted(self.tables)

    def lookup(self, language: str, msgid: str, plural: str = "", n: int = 1) -> str | None:
        """The translation, or None: a message missing from a catalog falls back to English."""
        table = self.tables.get(language.split("-")[0])
        if table is None:
            return None
        forms = table.entries.get(msgid)
        if not forms:
            return None
        if plural:
            index = table.plural(n)
            return forms[index] if index < len(forms) and forms[index] else None
        return forms[0]


def _entries(catalog: Catalog) -> Iterable[tuple[str, tuple[str, ...]]]:
    for message in catalog:
        if not message.id or not message.string or message.fuzzy:
            continue
        forms = _forms(message.string)
        if any(forms):
            yield _forms(message.id)[0], forms


_active: Catalogs | None = None


def active() -> Catalogs:
    """The catalogs in use: those installed with ``use``, else the shipped ones."""
    global _active
    if _active is None:
        _active = Catalogs.load()
    return _active


def use(catalogs: Catalogs) -> None:
    """Install the catalogs a run uses (the composition root, at start-up)."""
    global _active
    _active = catalogs


# ---- extraction (a maintainer's tool) ---------------------------------------------------------


def extract(root: Path) -> Catalog:
    """Every marked text under ``SOURCES`` of ``root``, as a template catalog."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    pot = Catalog(project="translocal", domain=DOMAIN, fuzzy=False)
    for source in SOURCES:
        found = extract_from_dir(
            root / source,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=("TRANSLATORS:",),
            strip_comment_tags=True,
        )
        for filename, lineno, message, comments, context in found:
            where = f"{source}/{filename}"
            pot.add(message, locations=[(where, lineno)], auto_comments=comments, context=context)
    return pot


def _write(catalog: Catalog, path: Path) -> None:
    from babel.messages.pofile import write_po

    with path.open("wb") as f:
        write_po(f, catalog, width=100, omit_header=False, sort_output=False)


def main(argv: list[str]) -> int:
    from babel.messages.pofile import read_po

    root = LOCALES.parent.parent
    if argv[:1] == ["extract"]:
        _write(extract(root), POT)
        print(f"wrote {POT}")
        return 0
    if argv[:1] == ["update"]:
        with POT.open("rb") as f:
            template = read_po(f)
        for path in po_files(LOCALES):
            with path.open("rb") as f:
                catalog = read_po(f)
            catalog.update(template, no_fuzzy_matching=True)
            _write(catalog, path)
            print(f"updated {path}")
        return 0
    print("usage: python -m bridge.model.catalogs extract|update", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
