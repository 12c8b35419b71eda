"""The privacy check before sharing: does a thread show a phone number, an e-mail address, a
street address with a number, or an ID-like number?

Conservative on purpose: a pause costs a moderator one ``share confirm``, a miss can cost a
tenant their home, but a check that fires on every date or price would be confirmed without
reading. So each pattern wants a clear shape: a phone number 8 to 15 digits long in the usual
groupings (a date or a time is not one), a street word of the room's language next to a
number, the national ID shapes of the room's locale (es/ca DNI and NIE, de tax id and ID
card, en SSN and UK NI number, fr NIR, it codice fiscale, pt CPF/NIF). Languages without
their own street and ID patterns get all of them.

Only the kinds found are named (to the moderator who shared), never the text. A paused share
waits in Redis for ``CONFIRM_S`` (ids and kinds only) under ``keys.pending_share``.
"""

from __future__ import annotations

import regex

from bridge.model.i18n import Message, _

CONFIRM_S = 600  # a paused share lapses after 10 minutes

KINDS: dict[str, Message] = {
    "phone": _("a phone number"),
    "email": _("an e-mail address"),
    "address": _("a street address"),
    "id": _("an ID number"),
}

_EMAIL = regex.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
_PHONE = regex.compile(r"(?<![\w.,/:-])\+?\(?\d[\d\s().-]{6,18}\d(?![\w.,/:-]?\d)")
_DATE = regex.compile(r"^\d{1,4}[-./]\d{1,2}[-./]\d{1,4}$")

_STREETS: dict[str, str] = {
    "es": r"\b(?:calle|c/|avenida|avda\.?|av\.|paseo|plaza|camino|carrera|callej[oó]n|"
    r"privada|calzada)\s+[\w'. ]{2,40}?,?\s*(?:n[º°o]\.?\s*)?\d{1,5}\b",
    "ca": r"\b(?:carrer|c/|avinguda|av\.|passeig|pla[cç]a|ronda|travessera|cam[ií])\s+"
    r"[\w'. ]{2,40}?,?\s*(?:n[º°]\.?\s*)?\d{1,5}\b",
    "de": r"\b[\w-]{2,40}(?:stra(?:ß|ss)e|str\.|weg|platz|allee|gasse|ring|damm|ufer)\s*"
    r"\d{1,4}\s?[a-z]?\b",
    "en": r"\b\d{1,5}\s+(?:[A-Z][\w'.-]*\s+){1,3}(?:street|st\.?|avenue|ave\.?|road|rd\.?|"
    r"boulevard|blvd\.?|lane|ln\.?|drive|dr\.?|court|ct\.?|place|pl\.?|way)\b",
    "fr": r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|av\.|boulevard|bd|place|chemin|"
    r"all[ée]e|impasse|quai|cours)\s+\w",
    "it": r"\b(?:via|viale|piazza|corso|vicolo|largo|piazzale)\s+[\w'. ]{2,40}?,?\s*\d{1,5}\b",
    "pt": r"\b(?:rua|avenida|av\.|travessa|pra[çc]a|largo|estrada|alameda)\s+[\w'. ]{2,40}?,?"
    r"\s*(?:n[º°]\.?\s*)?\d{1,5}\b",
}
_IDS: dict[str, str] = {
    "es": r"\b\d{8}-?[A-HJ-NP-TV-Z]\b|\b[XYZ]-?\d{7}-?[A-HJ-NP-TV-Z]\b",
    "ca": r"\b\d{8}-?[A-HJ-NP-TV-Z]\b|\b[XYZ]-?\d{7}-?[A-HJ-NP-TV-Z]\b",
    "de": r"\b\d{2}\s?\d{3}\s?\d{3}\s?\d{3}\b|\b[CFGHJKLMNPRTVWXYZ][CFGHJKLMNPRTVWXYZ0-9]{8}\b",
    "en": r"\b\d{3}-\d{2}-\d{4}\b|\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b",
    "fr": r"\b[12]\s?\d{2}\s?(?:0[1-9]|1[0-2])\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}(?:\s?\d{2})?\b",
    "it": r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b",
    "pt": r"\b\d{3}\.\d{3}\.\d{3}-\d{2}\b|\bNIF:?\s*\d{9}\b",
}


def _compiled(table: dict[str, str], language: str) -> list[regex.Pattern[str]]:
    chosen = [table[language]] if language in table else list(table.values())
    return [regex.compile(p, regex.IGNORECASE if table is _STREETS else 0) for p in chosen]


def _phone(text: str) -> bool:
    for match in _PHONE.finditer(text):
        found = match.group().strip()
        digits = sum(c.isdigit() for c in found)
        if 8 <= digits <= 15 and not _DATE.match(found):
            return True
    return False


def findings(texts: list[str], language: str) -> list[str]:
    """The kinds of personal data found in ``texts`` (keys of ``KINDS``, in that order)."""
    found: list[str] = []
    streets, ids = _compiled(_STREETS, language), _compiled(_IDS, language)
    for text in texts:
        if "email" not in found and _EMAIL.search(text):
            found.append("email")
        if "address" not in found and any(p.search(text) for p in streets):
            found.append("address")
        if "id" not in found and any(p.search(text) for p in ids):
            found.append("id")
        if "phone" not in found and _phone(_EMAIL.sub(" ", text)):
            found.append("phone")
    return [kind for kind in KINDS if kind in found]
