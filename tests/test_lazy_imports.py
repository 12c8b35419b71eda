"""The bridge loads its rarely used heavy libraries only when a feature needs them (issue 23's
memory goal, measured by bench/footprint.py): importing the composition root and the
adapters loads no image or audio/video library, no PDF reader, no language-detection
models' library, no third-party translation client and no Babel (whose CLDR data costs
about 5 MiB for the first locale and 1 MiB for each next; the shipped languages' few CLDR
items come from bridge/locales/<lang>/cldr.json). A module-level import added back anywhere
on those paths fails here, before it silently costs every small server its MiB."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAZY = ("PIL", "mutagen", "pypdf", "lingua", "deep_translator", "babel")
ENTRY_POINTS = [
    "bridge.app",
    "bridge.cli",
    "bots.telegram.bot",
    "bots.matrix.bot",
    "bridge.relay.translate",
    "bridge.model.media",
    "translation.detect",
]


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {LAZY!r} if m in sys.modules))"
    return subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True, text=True, check=True, timeout=120, cwd=ROOT,
    ).stdout.split()  # fmt: skip


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_importing_it_loads_no_rarely_used_heavy_library(module: str) -> None:
    assert _loaded_after(f"import {module}") == []


def test_a_room_language_line_is_detected_without_loading_the_models_library() -> None:
    """Most lines in most rooms are in the room's language, and their function words say so:
    those never load lingua (about 10 MiB once its models are in)."""
    code = (
        "from translation.detect import Detector\n"
        "d = Detector({'es', 'de', 'en'})\n"
        "assert d.detect('Asamblea de inquilinas el jueves a las 19h en la plaza', 'es') == 'es'\n"
        "assert d.detect('Wir brauchen mehr Leute an der Tür, bitte kommt alle', 'de') == 'de'"
    )
    assert _loaded_after(code) == []


def test_a_line_in_another_language_still_loads_the_models_and_is_found() -> None:
    code = (
        "from translation.detect import Detector\n"
        "d = Detector({'es', 'de', 'en'})\n"
        "assert d.detect('Die Heizung ist seit drei Tagen kaputt, im ganzen Vorderhaus', 'es')"
        " == 'de'"
    )
    assert _loaded_after(code) == ["lingua"]


# every kind of text a room sees: a catalog text with a count, a date with its zone, a weekday,
# a list, a language's name and its "translated from" form
_EVERY_KIND = (
    "from datetime import UTC, datetime\n"
    "from bridge.model.catalogs import Catalogs, use\n"
    "from bridge.model.i18n import Language, Listing, Weekday, When, _, ngettext, render\n"
    "use(Catalogs.load())\n"
    "at = When(datetime(2030, 5, 2, 0, tzinfo=UTC), 'Europe/Berlin')\n"
    "texts = [ngettext('{n} room, first {when}', '{n} rooms, first {when}', 3, when=at),\n"
    "         _('Shared with {rooms}.', rooms=Listing(('CDMX', 'Berlin', 'Toronto'))),\n"
    "         _('translated from {language}', language=Language('de', 'from')),\n"
    "         Weekday(4), Language('pt')]\n"
)


def test_the_shipped_languages_get_texts_dates_and_names_without_babel() -> None:
    """The shipped catalogs are read without Babel's .po reader, and the shipped languages'
    dates, weekdays, lists and language names come from their compact CLDR tables."""
    code = _EVERY_KIND + (
        "for lang in ('ca', 'de', 'en', 'es', 'fr', 'it', 'pt'):\n"
        "    assert all(render(t, lang) for t in texts)\n"
        "assert render(texts[0], 'de') == '3 Räume, zum ersten Mal am Do., 2. Mai 2030, 02:00 CEST'"
    )
    assert _loaded_after(code) == []


def test_a_language_without_a_compact_table_still_gets_its_dates_and_names_from_babel() -> None:
    code = _EVERY_KIND + (
        "assert render(at, 'nl') == 'do 2 mei 2030, 02:00 CEST'\n"
        "assert render(Language('de'), 'nl') == 'Duits'\n"
        "assert render(Weekday(0), 'pt-PT') == 'segunda-feira'"
    )
    assert _loaded_after(code) == ["babel"]
