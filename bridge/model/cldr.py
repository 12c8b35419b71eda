"""The few CLDR items the bridge's texts use, for the shipped languages, without Babel.

What a room sees from CLDR: language names, weekday and month names, the date pattern of the
``yMMMEd`` skeleton ("Do., 2. Mai 2030"), the ``HH:mm`` time, how a date and a time are
joined, and how a list is joined ("A, B y C"). Babel holds all of CLDR per locale: the first
``Locale`` costs about 5 MiB (root and English data), each next about 1 MiB, most of it
territories, currencies, units and time-zone names the bridge never shows (issue 23: a small
server). So ``python -m bridge.model.cldr build`` (a maintainer's tool, like the catalogs'
``extract``) writes those items of each shipped language, taken from Babel, to
``bridge/locales/<lang>/cldr.json`` (package data, about 10 KB each), and ``load`` reads a
language's file the first time a room needs it. A language without such a file (``nl``,
``pt-PT``: a region has its own CLDR data) still gets everything from Babel, imported then.
tests/bridge/test_cldr.py checks that each file equals what Babel gives and that the texts
formatted from it equal Babel's, so a Babel upgrade that changes CLDR fails there: rebuild.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

LOCALES = Path(__file__).resolve().parent.parent / "locales"
FILE = "cldr.json"
SKELETON = "yMMMEd"  # weekday, day, abbreviated month, year
TIME = "HH:mm"
LIST_STYLES = ("standard", "unit")
# Babel's fallbacks for a list style a locale lacks (babel.lists, after CLDR root's aliases)
_LIST_FALLBACKS = {"standard": ("standard",), "unit": ("unit", "unit-short", "standard")}
_TOKEN = re.compile(r"''|'(?:[^']|'')*'|([A-Za-z])\1*|[^'A-Za-z]+")


@dataclass(frozen=True)
class Compact:
    """One language's CLDR items (lists indexed as Babel's: weekdays from Monday, months from
    January)."""

    language: str
    languages: dict[str, str]  # language code -> its name in this language
    days: dict[str, dict[str, list[str]]]  # context ("format") -> width -> 7 names
    months: dict[str, dict[str, list[str]]]  # context -> width -> 12 names
    date: str  # the yMMMEd pattern
    glue: str  # "{1}, {0}": date {1} and time {0} joined
    lists: dict[str, dict[str, str]]  # style -> "start"/"middle"/"end"/"2" -> "{0}, {1}"

    def format_when(self, at: datetime) -> str:
        """``at`` (a wall time) as weekday, date and time, as Babel's ``format_skeleton``
        and ``format_time`` joined by the medium datetime pattern give it."""
        date, time = self.format(self.date, at), self.format(TIME, at)
        return self.glue.replace("{1}", date).replace("{0}", time)

    def format(self, pattern: str, at: datetime) -> str:
        """A CLDR date pattern with the fields the bridge's patterns use (y, M, L, d, E, H,
        m; a quoted part as is). Another field is a ValueError: ``build`` refuses it."""
        out = []
        for match in _TOKEN.finditer(pattern):
            piece = match.group(0)
            if piece == "''":
                out.append("'")
            elif piece.startswith("'"):
                out.append(piece[1:-1].replace("''", "'"))
            elif match.group(1):
                out.append(self._field(piece[0], len(piece), at))
            else:
                out.append(piece)
        return "".join(out)

    def _field(self, char: str, n: int, at: datetime) -> str:
        if char == "y":
            return f"{at.year % 100:02d}" if n == 2 else f"{at.year:0{n}d}"
        if char in "ML" and n >= 3:
            context = "format" if char == "M" else "stand-alone"
            return self.months[context][_WIDTHS[min(n, 4)]][at.month - 1]
        if char == "E" and n <= 4:
            return self.days["format"][_WIDTHS[max(n, 3)]][at.weekday()]
        numbers = {"M": at.month, "L": at.month, "d": at.day, "H": at.hour, "m": at.minute}
        if char in numbers:
            return f"{numbers[char]:0{n}d}"
        raise ValueError(f"the date field {char * n!r} is not supported")

    def format_list(self, items: list[str], style: str) -> str:
        """Babel's ``format_list``, over this language's patterns; where CLDR gives a style
        only its two-item pattern (German and Spanish "unit"), the standard ones for the rest
        (Babel raises KeyError there)."""
        if not items:
            return ""
        if len(items) == 1:
            return items[0]
        standard = self.lists["standard"]
        patterns = {**standard, **self.lists.get(style, {})}
        if len(items) == 2 and "2" in patterns:
            return patterns["2"].format(*items)
        result = patterns["start"].format(items[0], items[1])
        for item in items[2:-1]:
            result = patterns["middle"].format(result, item)
        return patterns["end"].format(result, items[-1])


_WIDTHS = {3: "abbreviated", 4: "wide"}


@functools.cache
def load(language: str) -> Compact | None:
    """The language's compact CLDR items, or None when it has no file (a region tag, a
    language not shipped): the caller asks Babel then."""
    if not re.fullmatch(r"[a-z]{2,3}", language):
        return None
    path = LOCALES / language / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return Compact(**data)


# ---- building the files from Babel (a maintainer's tool) ---------------------------------------


def build(language: str) -> dict[str, Any]:
    """The items ``Compact`` holds, from Babel's CLDR data for ``language``."""
    from babel import Locale
    from babel.dates import match_skeleton

    locale = Locale.parse(language)
    skeletons = locale.datetime_skeletons
    skeleton = SKELETON if SKELETON in skeletons else match_skeleton(SKELETON, skeletons)
    widths = ("abbreviated", "wide")
    data = {
        "language": language,
        "languages": {k: str(v) for k, v in sorted(locale.languages.items()) if "_" not in k},
        "days": {
            "format": {w: [str(locale.days["format"][w][i]) for i in range(7)] for w in widths}
        },
        "months": {
            context: {w: [str(locale.months[context][w][i]) for i in range(1, 13)] for w in widths}
            for context in ("format", "stand-alone")
        },
        "date": skeletons[skeleton].pattern,
        "glue": str(locale.datetime_formats["medium"]),
        "lists": {
            style: {
                k: str(v)
                for k, v in next(
                    locale.list_patterns[s]
                    for s in _LIST_FALLBACKS[style]
                    if s in locale.list_patterns
                ).items()
            }
            for style in LIST_STYLES
        },
    }
    sample = datetime(2030, 5, 2, 17, 5)  # noqa: DTZ001 - a wall time, as format_when takes
    Compact(**data).format_when(sample)  # a field not supported: refused here
    return data


def main(argv: list[str]) -> int:
    if argv[:1] != ["build"]:
        print("usage: python -m bridge.model.cldr build", file=sys.stderr)
        return 2
    for folder in sorted(p for p in LOCALES.iterdir() if (p / "LC_MESSAGES").is_dir()):
        path = folder / FILE
        text = json.dumps(build(folder.name), ensure_ascii=False, indent=0, sort_keys=True)
        path.write_text(text + "\n", encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
