"""The bridge's own texts come from message catalogs: every shipped catalog is complete and
sound, the template is not stale, an operator's broken .po is refused with file, line and
msgid, and a room in a language without a catalog gets the English texts machine-translated
once (then cached), with command words intact."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from babel.messages.pofile import read_po

from bridge.app import App
from bridge.config.load import LoadedConfig, load_config
from bridge.model.catalogs import LOCALES, POT, Catalogs, extract, po_files, problems_of
from bridge.model.i18n import Language, Listing, When, _, ngettext, render
from sandbox.libretranslate import LibreTranslateServer
from tests.harness import eventually
from tests.helpers import lifecycle_config, run_cli, write_config
from tests.memory_bot import NETWORK

SHIPPED = ("en", "es", "de", "fr", "pt", "it", "ca")
ROOT = Path(__file__).resolve().parents[2]


def _msgids(path: Path) -> set[str]:
    with path.open("rb") as f:
        catalog = read_po(f)
    return {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}


def test_the_template_holds_every_text_marked_in_the_code() -> None:
    in_code = {m.id[0] if isinstance(m.id, tuple) else m.id for m in extract(ROOT) if m.id}
    missing = in_code - _msgids(POT)
    assert not missing, "run: python -m bridge.model.catalogs extract && ... update"


@pytest.mark.parametrize("language", SHIPPED)
def test_every_shipped_catalog_is_complete_with_the_same_placeholders_and_valid_plurals(
    language: str,
) -> None:
    path = LOCALES / language / "LC_MESSAGES" / "translocal.po"
    with path.open("rb") as f:
        catalog = read_po(f, abort_invalid=True)
    assert str(catalog.locale) == language
    wanted = _msgids(POT)
    done = {
        m.id[0] if isinstance(m.id, tuple) else m.id
        for m in catalog
        if m.id
        and m.string
        and all(m.string if isinstance(m.string, tuple) else [m.string])
        and not m.fuzzy
    }
    assert wanted - done == set(), f"{language}: untranslated"
    assert problems_of(catalog, path) == []  # placeholders, and plural forms (Babel's checker)
    for message in catalog:  # Babel's own checkers too (python-format and the rest)
        assert not list(message.check(catalog)), (language, message.id)


def test_the_shipped_catalogs_are_package_data() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert '"bridge" = ["locales/*.pot", "locales/*/LC_MESSAGES/*.po"]' in text
    assert {p.parent.parent.name for p in po_files(LOCALES)} >= set(SHIPPED)


def test_footers_name_the_source_language_in_the_room_language() -> None:
    def footer(source: str, room: str) -> str:
        return render(_("translated from {language}", language=Language(source, "from")), room)

    assert footer("de", "es") == "traducido del alemán"
    assert footer("es", "de") == "aus dem Spanischen übersetzt"
    assert footer("de", "en") == "translated from German"
    assert footer("de", "fr") == "traduit de l'allemand"
    assert footer("pt", "fr") == "traduit du portugais"
    assert footer("es", "it") == "tradotto dallo spagnolo"
    assert footer("en", "it") == "tradotto dall'inglese"
    assert footer("de", "pt") == "traduzido do alemão"
    assert footer("es", "ca") == "traduït de l'espanyol"
    assert footer("fr", "ca") == "traduït del francès"


def test_counts_dates_and_lists_follow_the_room_language() -> None:
    at = When(datetime(2030, 5, 2, 0, tzinfo=UTC), "Europe/Berlin")
    one = ngettext("{n} room, first {when}", "{n} rooms, first {when}", 1, when=at)
    many = ngettext("{n} room, first {when}", "{n} rooms, first {when}", 3, when=at)
    assert render(one, "de") == "1 Raum, zum ersten Mal am Do., 2. Mai 2030, 02:00 CEST"
    assert render(many, "es") == "3 salas, la primera vez el jue, 2 may 2030, 02:00 CEST"
    shared = _("Shared with {rooms}.", rooms=Listing(("CDMX", "Berlin", "Toronto")))
    assert render(shared, "es") == "Compartido con CDMX, Berlin y Toronto."
    assert render(shared, "tr") == "Shared with CDMX, Berlin, and Toronto."  # no catalog


def test_a_message_missing_from_a_catalog_falls_back_to_english_for_that_message_only(
    tmp_path: Path,
) -> None:
    (tmp_path / "es.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: es\\n"\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        'msgid "Call-out"\nmsgstr "Aviso"\n',
        encoding="utf-8",
    )
    catalogs = Catalogs.load(tmp_path)
    assert catalogs.lookup("es", "Call-out") == "Aviso"  # the operator's wording wins
    assert catalogs.lookup("es", "Call-outs:") == "Convocatorias:"  # the rest stays shipped
    assert catalogs.lookup("es", "a text nobody wrote") is None  # English, for that one


BROKEN_PLACEHOLDER = """msgid ""
msgstr ""
"Language: es\\n"
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "Call-out"
msgstr "Convocatoria"

msgid "Shared with {rooms}."
msgstr "Compartido con {salas}."
"""

BROKEN_SYNTAX = """msgid ""
msgstr ""
"Language: de\\n"

msgid "Call-out"
msgstr "Aufruf
"""


def test_check_and_run_refuse_a_po_file_with_a_broken_placeholder_or_syntax(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "locales"
    folder.mkdir()
    (folder / "es.po").write_text(BROKEN_PLACEHOLDER, encoding="utf-8")
    (folder / "de.po").write_text(BROKEN_SYNTAX, encoding="utf-8")
    cfg = lifecycle_config(data_dir=str(tmp_path / "d"), translation={"locale_dir": str(folder)})
    path = str(write_config(tmp_path / "c.yaml", cfg))
    checked = run_cli("check", "-c", path, module="tests.relay_proc")
    assert checked.returncode == 3, checked.stdout + checked.stderr
    lines = checked.stderr.splitlines()
    placeholder = f"{folder / 'es.po'}:9: msgid 'Shared with {{rooms}}.': placeholders"
    assert any(f"translation.locale_dir: {placeholder}" in line for line in lines)
    syntax = f"translation.locale_dir: {folder / 'de.po'}:6: msgid 'Call-out': does not parse"
    assert syntax in checked.stderr
    assert "Traceback" not in checked.stderr
    ran = run_cli("run", "-c", path, module="tests.relay_proc")
    assert ran.returncode == 3
    assert [line for line in ran.stderr.splitlines() if "locale_dir" in line] == [
        line for line in lines if "locale_dir" in line
    ]


# ---- a room in a language with no catalog ---------------------------------------------------


@contextlib.asynccontextmanager
async def bridge(loaded: LoadedConfig) -> AsyncIterator[App]:
    app = App(loaded, lease_ms=1000)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(app.run(stop, ready))
    await asyncio.wait_for(ready.wait(), 20)
    try:
        yield app
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_a_room_in_turkish_gets_machine_translated_texts_once_cached_with_commands_intact(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    NETWORK.reset()
    async with LibreTranslateServer() as libre:
        cfg: dict[str, Any] = lifecycle_config(
            data_dir=str(tmp_path / "d"),
            redis={"url": redis_url, "shards": 2},
            translation={"providers": [{"name": "libretranslate", "url": libre.url}]},
        )
        cfg["rooms"].append({"id": "ist", "bot": "a", "chat": "ist", "language": "tr",
                             "label": "İstanbul"})  # fmt: skip
        cfg["circles"][0]["rooms"].append("ist")
        loaded = load_config(write_config(tmp_path / "c.yaml", cfg), env={})
        async with bridge(loaded):
            bot = NETWORK.bot("a")
            await bot.command("ist", "help")
            await eventually(lambda: len(NETWORK.sends_to("ist")) == 1, what="help")
            first_calls = libre.calls
            await bot.command("ist", "help")
            await eventually(lambda: len(NETWORK.sends_to("ist")) == 2, what="second help")
            await bot.command("a1", "help")
            await eventually(lambda: len(NETWORK.sends_to("a1")) == 1, what="Spanish help")
        assert first_calls > 0
        assert libre.calls == first_calls  # the second help, and the Spanish one: no call
        first, second = (d.text for d in NETWORK.sends_to("ist"))
        assert first == second
        lines = first.splitlines()
        # the sandbox marks its "translations" with the target language
        assert lines[0] == "[tr] Translocal commands:"
        assert "[tr] [tr] +share [circle] (as a reply): [tr] the thread so far" in first
        assert "[tr] +retract (as a reply): [tr] every copy is deleted" in first
        assert lines[-1] == "[tr] (These texts are machine-translated from English.)"
        assert all(target == "tr" for _, target, _ in libre.log)
        assert not any("+share" in text or "{command}" in text for _, _, text in libre.log)
        (spanish,) = NETWORK.sends_to("a1")
        assert spanish.text.startswith("Comandos de Translocal:\n+share [círculo]")


@pytest.mark.parametrize(
    ("cron", "language", "words"),
    [
        ("0 17 * * 5", "es", "cada viernes a las 17:00"),
        ("0 17 * * 5", "de", "jeden Freitag um 17:00"),
        ("30 9 * * sat,sun", "fr", "chaque samedi et dimanche à 09:30"),
        ("0 18 1 * *", "ca", "el dia 1 de cada mes a les 18:00"),
        ("0 7 * * *", "it", "ogni giorno alle 07:00"),
        ("*/5 * * * *", "pt", 'cron "*/5 * * * *"'),  # any other shape: shown as it is
    ],
)
def test_a_cron_schedule_reads_as_words_in_the_room_language(
    cron: str, language: str, words: str
) -> None:
    from bridge.callouts.model import Request
    from bridge.callouts.schedule_words import schedule_words

    request = Request(circles=("net",), cron=cron, language="en", text="Rally")
    assert render(schedule_words(request), language) == words
