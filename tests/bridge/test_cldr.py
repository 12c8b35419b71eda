"""The shipped languages' texts, dates, weekdays, lists and language names read without Babel
(issue 23: Babel's CLDR data costs 1-5 MiB per locale) are exactly what Babel gives: each
compact CLDR table equals Babel's data, what is formatted from it equals Babel's formatting,
and the small .po reader reads each shipped catalog as Babel's reader does. A Babel upgrade
that changes CLDR fails here: ``python -m bridge.model.cldr build`` rewrites the tables."""

from __future__ import annotations

import gettext
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from babel import Locale
from babel.dates import format_skeleton, format_time
from babel.lists import format_list

from bridge.model import cldr
from bridge.model.catalogs import LOCALES, Problem, _entries, read, read_light
from bridge.model.i18n import Language, Listing, Weekday, When, render

SHIPPED = ("ca", "de", "en", "es", "fr", "it", "pt")


@pytest.mark.parametrize("language", SHIPPED)
def test_each_compact_table_is_babels_data(language: str) -> None:
    path = LOCALES / language / cldr.FILE
    assert json.loads(path.read_text(encoding="utf-8")) == cldr.build(language), (
        "run: python -m bridge.model.cldr build"
    )


@pytest.mark.parametrize("language", SHIPPED)
def test_dates_weekdays_lists_and_names_read_as_babel_formats_them(language: str) -> None:
    compact, locale = cldr.load(language), Locale.parse(language)
    assert compact is not None
    glue = str(locale.datetime_formats["medium"])
    start = datetime(2029, 12, 30, 0, 5)  # noqa: DTZ001 - wall times, as format_when takes them
    for day in range(0, 800, 3):  # every month and weekday, two year changes, many hours
        at = start + timedelta(days=day, hours=day % 24, minutes=day % 60)
        date = format_skeleton("yMMMEd", at, locale=locale)
        babel = glue.replace("{1}", date).replace("{0}", format_time(at, "HH:mm", locale=locale))
        assert compact.format_when(at) == babel
    for style in ("standard", "unit"):
        for n in range(6):
            items = [f"item{i}" for i in range(n)]
            try:
                babel = format_list(items, style, locale=locale)
            except KeyError:  # "unit" of 3+ items in de, es: Babel has no pattern; standard's
                babel = format_list(items, "standard", locale=locale)
            assert compact.format_list(items, style) == babel
    for index in range(7):
        assert render(Weekday(index), language) == locale.days["format"]["wide"][index]
    for code, name in locale.languages.items():
        if "_" not in code:
            assert render(Language(code), language) == name


def test_a_zoned_date_and_a_list_render_the_same_in_a_shipped_and_a_babel_language() -> None:
    at = When(datetime.fromisoformat("2030-05-02T00:00+00:00"), "America/Mexico_City")
    assert render(at, "es") == "mié, 1 may 2030, 18:00 CST"
    assert render(at, "es-MX") == "mié, 1 de may de 2030, 18:00 CST"  # es_MX: Babel's own
    assert render(Listing(("A", "B", "C")), "pt") == "A, B e C"
    assert render(Listing(("A", "B", "C")), "nl") == "A, B en C"
    assert render(Language("de"), "zz") == "German"  # a code CLDR lacks: English, as before


@pytest.mark.parametrize("language", SHIPPED)
def test_the_small_reader_reads_each_shipped_catalog_as_babel_does(language: str) -> None:
    path = LOCALES / language / "LC_MESSAGES" / "translocal.po"
    catalog, problems = read(path)
    assert catalog is not None
    assert catalog.locale is not None
    assert problems == []
    light = read_light(path)
    assert not isinstance(light, Problem)
    found, plural, entries = light
    assert found == str(catalog.locale.language)
    assert plural == catalog.plural_expr
    assert entries == list(_entries(catalog))
    forms = gettext.c2py(plural)
    assert [forms(n) for n in range(5)] == [gettext.c2py(catalog.plural_expr)(n) for n in range(5)]


HEADER = (
    'msgid ""\nmsgstr ""\n"Language: es\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
)


def test_the_small_reader_refuses_what_babel_would_refuse_and_skips_fuzzy(tmp_path: Path) -> None:
    path = tmp_path / "es.po"
    path.write_text(HEADER + 'msgid "Call-out"\nmsgstr "Aviso\n', encoding="utf-8")
    wrong = read_light(path)
    assert isinstance(wrong, Problem)
    assert "does not parse" in wrong.what
    assert wrong.line == 7
    path.write_text(HEADER + 'msgid "Shared with {rooms}."\nmsgstr "Con {salas}."\n', "utf-8")
    wrong = read_light(path)
    assert isinstance(wrong, Problem)
    assert "placeholders" in wrong.what
    assert wrong.line == 6
    path.write_text(
        HEADER + '#, fuzzy\nmsgid "Call-out"\nmsgstr "Aviso"\n\n'
        'msgid "a \\"quoted\\"\\n"\n"text"\nmsgstr "un \\"texto\\"\\n"\n"citado"\n',
        encoding="utf-8",
    )
    light = read_light(path)
    assert not isinstance(light, Problem)
    catalog, _problems = read(path)
    assert catalog is not None
    assert light[2] == list(_entries(catalog))
    assert light[2] == [('a "quoted"\ntext', ('un "texto"\ncitado',))]
