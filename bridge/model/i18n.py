"""The bridge's own texts, in each room's language, from gettext message catalogs.

Code marks a text with ``_("Shared with {rooms}.", rooms=...)`` (or ``ngettext`` where a count
appears): that makes a ``Message``, a msgid with its parameters, not a string. It becomes a
string only where the room is known, per delivery: ``render(text, language)`` looks the msgid
up in that language's catalog (``bridge.model.catalogs``), falls back to English for a
message the catalog lacks, and fills the placeholders, each rendered in the same language
(a ``Language`` is a CLDR language name, a ``When`` a date formatted for the room's locale
and timezone, a ``Listing`` a list joined the way that language joins lists). Those CLDR items
come from ``bridge.model.cldr``'s compact tables for the shipped languages, and from Babel,
imported only then, for any other language (Babel's full CLDR data per locale is 1-5 MiB).

Command words, ids, labels and times are always parameters, never words of a msgid: so a
translator cannot translate ``/share``, and a language without a catalog can be
machine-translated with every placeholder protected (``templates`` gives the msgids to
translate; ``render`` takes them back as ``machine``). Texts for the operator's terminal
(CLI output, logs) stay English and do not come here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Union
from zoneinfo import ZoneInfo

from bridge.model import cldr
from bridge.model.catalogs import active

if TYPE_CHECKING:  # imported for a language without a compact CLDR table (see above)
    from babel import Locale

__all__ = [
    "Language",
    "Lines",
    "Listing",
    "Message",
    "Text",
    "Weekday",
    "When",
    "_",
    "has_catalog",
    "lines",
    "ngettext",
    "placeholders",
    "render",
    "templates",
]

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Language:
    """A language's name in the room's language. ``form="from"`` is what follows "translated"
    in that language's footer (see ``FROM_FORMS``)."""

    code: str
    form: Literal["name", "from"] = "name"


@dataclass(frozen=True)
class When:
    """A moment, shown in the room's locale and ``tz`` (``None``: a wall time, shown as is)."""

    at: datetime
    tz: str | None = None


@dataclass(frozen=True)
class Weekday:
    """A weekday's name in the room's language (0 is Monday), from CLDR."""

    index: int


@dataclass(frozen=True)
class Listing:
    """Items joined as the room's language joins a list ("A, B and C" / "A, B y C")."""

    items: tuple[Param, ...]
    style: Literal["standard", "unit"] = "standard"


@dataclass(frozen=True)
class Message:
    """A marked text: a msgid (and its plural, with ``n``) and its parameters, not rendered."""

    msgid: str
    params: tuple[tuple[str, Param], ...] = ()
    plural: str = ""
    n: int = 0


@dataclass(frozen=True)
class Lines:
    """Texts shown one per line (a help, a listing); a str part is shown verbatim."""

    parts: tuple[Param, ...]


Text = Union[Message, Lines]  # noqa: UP007 - a runtime alias naming later classes
Param = Union[str, int, Message, Lines, Language, When, Listing, Weekday]  # noqa: UP007


def _(msgid: str, **params: Param) -> Message:
    """Mark ``msgid`` for translation; ``{name}`` placeholders take ``params``."""
    return Message(msgid, tuple(params.items()))


def ngettext(singular: str, plural: str, n: int, **params: Param) -> Message:
    """A text with a count: the language's plural rule picks the form; ``{n}`` is the count."""
    return Message(singular, (("n", n), *params.items()), plural=plural, n=n)


def lines(*parts: Param) -> Lines:
    return Lines(tuple(parts))


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def has_catalog(language: str) -> bool:
    """Whether the bridge has its own texts in ``language`` (else they are machine-translated)."""
    return active().has(language)


def templates(text: Param) -> Iterator[str]:
    """Every msgid (and plural msgid) in ``text``: what a machine translation must cover."""
    if isinstance(text, Message):
        yield text.msgid
        if text.plural:
            yield text.plural
        for _name, value in text.params:
            yield from templates(value)
    elif isinstance(text, Lines | Listing):
        for part in text.parts if isinstance(text, Lines) else text.items:
            yield from templates(part)


def render(text: Param, language: str, machine: Mapping[str, str] | None = None) -> str:
    """``text`` in ``language``: from its catalog, else from ``machine`` (msgid -> machine
    translation of it, placeholders intact), else English."""
    if isinstance(text, str):
        return text
    if isinstance(text, int):
        return format_number(text, language)
    if isinstance(text, Lines):
        return "\n".join(render(p, language, machine) for p in text.parts)
    if isinstance(text, Listing):
        items = [render(p, language, machine) for p in text.items]
        return format_list(items, text.style, language) if items else ""
    if isinstance(text, Language):
        return language_name(text.code, language, text.form)
    if isinstance(text, When):
        return format_when(text, language)
    if isinstance(text, Weekday):
        compact = _compact(language)
        if compact is not None:
            return compact.days["format"]["wide"][text.index]
        return str(_locale(language).days["format"]["wide"][text.index])
    return _message(text, language, machine or {})


def _message(message: Message, language: str, machine: Mapping[str, str]) -> str:
    english = message.plural if message.plural and message.n != 1 else message.msgid
    found = active().lookup(language, message.msgid, message.plural, message.n)
    if found is None and machine:
        found = machine.get(english)
    if found is not None:
        values = {name: render(value, language, machine) for name, value in message.params}
        try:
            return found.format_map(values)
        except (KeyError, ValueError, IndexError):
            pass  # a broken translation: the English one, not a failure
    # English: with its parameters in English too (a French name in an English sentence reads
    # wrong), unless the whole text is being machine-translated, part by part
    inner = language if machine else "en"
    values = {name: render(value, inner, machine) for name, value in message.params}
    return english.format_map(values)


def _compact(language: str) -> cldr.Compact | None:
    """The shipped language's compact CLDR table; None: ask Babel (``_locale``)."""
    return cldr.load(language)


def _locale(language: str) -> Locale:
    """Babel's locale for a language without a compact table (English for one CLDR lacks)."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def format_list(items: list[str], style: Literal["standard", "unit"], language: str) -> str:
    compact = _compact(language)
    if compact is not None:
        return compact.format_list(items, style)
    from babel.lists import format_list as babel_format_list

    return babel_format_list(items, style=style, locale=_locale(language))


def format_number(n: int, language: str) -> str:
    return str(n)  # counts in chat texts are small: no grouping to localize


def format_when(when: When, language: str) -> str:
    """Weekday, date and time in the room's locale, joined as it joins them; with a zone, in
    that zone, and its abbreviation after ("vie, 13 jun 2025, 17:00 CEST")."""
    at = when.at if when.tz is None else when.at.astimezone(ZoneInfo(when.tz))
    at = at.replace(tzinfo=None)
    compact = _compact(language)
    if compact is not None:
        joined = compact.format_when(at)
    else:
        from babel.dates import format_skeleton, format_time

        locale = _locale(language)
        date = format_skeleton(cldr.SKELETON, at, locale=locale)
        time = format_time(at, cldr.TIME, locale=locale)
        joined = str(locale.datetime_formats["medium"]).replace("{1}", date).replace("{0}", time)
    if when.tz is None:
        return joined
    return f"{joined} {when.at.astimezone(ZoneInfo(when.tz)).tzname()}"


def language_name(code: str, language: str, form: Literal["name", "from"] = "name") -> str:
    """CLDR's name of ``code`` in ``language`` (the code itself when CLDR has none)."""
    compact = _compact(language)
    if compact is not None:
        name, base = compact.languages.get(code.split("-")[0]) or code, compact.language
    else:
        locale = _locale(language)
        name, base = str(locale.languages.get(code.split("-")[0]) or code), locale.language
    if form == "from":
        return FROM_FORMS.get(base, _plain)(name)
    return name


def _plain(name: str) -> str:
    return name


def _german_dative(name: str) -> str:
    """ "aus dem Spanischen": adjectival names in -isch take -en; "aus dem Hindi" does not."""
    return name + "en" if name.endswith("isch") else name


def _elided(before_vowel: str, other: str) -> Callable[[str], str]:
    def form(name: str) -> str:
        return f"{before_vowel}{name}" if name[:1].lower() in "aeiouàèéíòóúh" else f"{other}{name}"

    return form


def _italian(name: str) -> str:
    """ "dal tedesco", "dallo spagnolo", "dall'inglese"."""
    if name[:1].lower() in "aeiou":
        return f"dall'{name}"
    if re.match(r"(s[^aeiou]|z|gn|ps|x|y)", name.lower()):
        return f"dallo {name}"
    return f"dal {name}"


# What Babel does not give: the form of a language's name after "translated" in each shipped
# language whose catalog needs one ("traduit de l'allemand", "aus dem Spanischen übersetzt").
# The catalogs write "{language}" where this form goes; a language not listed gets the name.
FROM_FORMS: dict[str, Callable[[str], str]] = {
    "de": _german_dative,
    "fr": _elided("de l'", "du "),
    "ca": _elided("de l'", "del "),
    "it": _italian,
}
