"""The stand-in's language: its phrase table, its language guesser and its careless mode.

Translation has to be deterministic for tests to assert what a room shows, so the sandbox
knows a few tenant-organizing sentences in several languages (each version translates to
the others) and marks anything else as `[<target>] <text>`. Detection guesses by script,
then by common words. `mangle` is what a careless translator does to text, so tests can show
that protected spans survive it; placeholders (`⟦<digits>⟧`) always pass untouched.
"""

from __future__ import annotations

import re

NAMES = {
    "en": "English", "es": "Spanish", "de": "German", "fr": "French", "it": "Italian",
    "pt": "Portuguese", "ca": "Catalan", "nl": "Dutch", "uk": "Ukrainian", "ru": "Russian",
    "ar": "Arabic", "zh": "Chinese", "ja": "Japanese", "pl": "Polish", "tr": "Turkish",
    "el": "Greek", "sv": "Swedish",
}  # fmt: skip
DEFAULT_LANGUAGES = list(NAMES)

# groups of one sentence in several languages, blank-line separated; each version translates to
# the others
BUILTIN_PHRASES = """
es: Bloqueo mañana a las 7 frente al edificio.
de: Blockade morgen um 7 Uhr vor dem Gebäude.
en: Blockade tomorrow at 7 in front of the building.
ca: Bloqueig demà a les 7 davant de l'edifici.
fr: Blocage demain à 7 h devant l'immeuble.

de: Wir stehen an eurer Seite
es: Estamos a vuestro lado
en: We stand with you
fr: Nous sommes à vos côtés
ca: Estem al vostre costat

es: ¡No al desahucio!
en: No to the eviction!
de: Nein zur Zwangsräumung!
ca: No al desnonament!
fr: Non à l'expulsion !

en: The landlord raised the rent again.
es: El casero ha vuelto a subir el alquiler.
de: Der Vermieter hat die Miete schon wieder erhöht.
fr: Le propriétaire a encore augmenté le loyer.
it: Il padrone di casa ha aumentato di nuovo l'affitto.

es: Asamblea de inquilinas el jueves a las 19h.
en: Tenants' assembly on Thursday at 7 pm.
de: Mieter*innenversammlung am Donnerstag um 19 Uhr.
ca: Assemblea de llogateres dijous a les 19h.
fr: Assemblée des locataires jeudi à 19 h.

de: Wir brauchen mehr Leute an der Tür.
en: We need more people at the door.
es: Necesitamos más gente en la puerta.
ca: Necessitem més gent a la porta.
fr: Nous avons besoin de plus de monde à la porte.

en: Solidarity from Berlin!
de: Solidarität aus Berlin!
es: ¡Solidaridad desde Berlín!
fr: Solidarité depuis Berlin !
it: Solidarietà da Berlino!
pt: Solidariedade de Berlim!
"""

PLACEHOLDER = re.compile(r"(\u27e6\d+\u27e7)")
_SCRIPTS = (("ja", "\u3040", "\u30ff"), ("zh", "\u4e00", "\u9fff"), ("el", "\u0370", "\u03ff"),
            ("ar", "\u0600", "\u06ff"), ("ru", "\u0400", "\u04ff"))  # fmt: skip
_HINTS = {
    "en": "the and is are we you with to of not",
    "es": "el los las que y con por para no mañana está",
    "de": "der die das und ist wir nicht mit ein eine",
    "fr": "le les et est nous avec des une pas",
    "it": "il che è con siamo per non gli",
    "pt": "o os que com não você estamos",
    "ca": "els amb som per demà és",
    "nl": "het een en wij met niet zijn",
}
_WORD = re.compile(r"\w+")


def guess_language(text: str) -> str:
    """A deterministic guess: by script, then by common words; English when nothing fits."""
    for code, low, high in _SCRIPTS:
        if any(low <= ch <= high for ch in text):
            return "uk" if code == "ru" and any(ch in "іїєґІЇЄҐ" for ch in text) else code
    words = _WORD.findall(text.lower())
    scores = {code: sum(w in hints.split() for w in words) for code, hints in _HINTS.items()}
    best = max(scores, key=lambda code: scores[code])
    return best if scores[best] else "en"


def mangle(text: str) -> str:
    """What a careless translator does: lowercase, break URLs, @mentions and #hashtags.
    Placeholders pass untouched."""
    parts = PLACEHOLDER.split(text)  # odd indexes are the placeholders
    for i in range(0, len(parts), 2):
        broken = parts[i].lower().replace("://", ": //")
        parts[i] = re.sub(r"([@#])(?=\w)", r"\1 ", broken)
    return "".join(parts)


def builtin_groups() -> list[dict[str, str]]:
    """The built-in phrase table as groups of `{language: sentence}`."""
    return [
        dict(line.split(": ", 1) for line in block.splitlines())
        for block in BUILTIN_PHRASES.strip().split("\n\n")
    ]
