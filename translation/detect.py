"""Source language detection for a message in a room with a declared language.

The contract: ``detect(text, room_language)`` names the language a message is written in, and
keeps the room's language whenever the text gives no clear reason to think otherwise (too few
letters, or no language ahead of the room's by a margin). A German message in a Spanish room
is German; "ok 👍" in a Spanish room is Spanish.

Why this shape: lingua's high-accuracy mode holds 25-30 MiB of n-gram models per language in
memory (about 175 MiB for the seven languages the bridge ships catalogs for), more than the
rest of the bridge together, on the small servers movement groups run it on. Its low-accuracy
mode (trigrams only) holds about 2 MiB per language but errs on short chat lines, mostly
between close languages (Catalan, Spanish, Portuguese, Italian). Short chat lines are rich
in function words ("el", "amb", "não", "und", "the"), which tell those languages apart
where trigrams do not; so each language's score is lingua's low-accuracy confidence plus
the share of the message's words that are its function words. On bench/data/chat_sample.tsv
(315 short chat lines in the seven languages) that is within a point of the high-accuracy
mode; ``bench/footprint.py`` prints both. The word lists are the commonest function words of
each language, not tuned on that sample. A language lingua knows but the lists do not is
scored by lingua alone.

Memory, the other reason (issue 23: a small server): lingua costs about 8 MiB the first time
it scores a text, then about 1 MiB per language whose model it loads. So it is asked as late
and as narrowly as the words allow. A line whose function words already say it is in the
room's language (most lines, in most rooms) is taken as such without lingua, which is then
not even imported. Otherwise lingua chooses only among the room's language, the languages
whose function words the line holds, and the languages without a word list: a language none
of whose commonest words appear is not a candidate, and its model is not loaded for that
line (a line with no listed word at all leaves every language a candidate).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported on the first line that needs it (see the module's docstring)
    from lingua import IsoCode639_1, LanguageDetector

_NOISE = re.compile(r"(?:https?://|www\.)\S+|[@#]\w+|\u27e6\d+\u27e7|[\ud800-\udfff]")
_SAMPLE_CHARS = 2000  # a long message is judged on its beginning: enough, and bounded work
_WORD = re.compile(r"[^\W\d_]+")
SHIPPED = ("ca", "de", "en", "es", "fr", "it", "pt")  # the languages of bridge/locales

# the commonest function and chat words of each shipped language (shared words count for each)
_FUNCTION_WORDS = {
    "es": "el la los las de del y o que en un una por para con sin no sí es son está están hay"
    " pero muy más ya me te se nos les lo le su sus mi yo tú usted ustedes este esta esto ese"
    " esa al como cuando donde porque también todo todos gracias hola mañana hoy aquí",
    "pt": "o a os as de do da dos das e ou que em no na nos nas um uma por para com sem não sim"
    " é são está estão há mas muito mais já me te se nos lhe seu sua meu minha eu você vocês"
    " este esta isto esse essa ao à como quando onde porque também tudo todos obrigado"
    " obrigada olá amanhã hoje aqui",
    "ca": "el la els les de del dels i o que en un una per amb sense no sí és són està estan hi"
    " ha però molt més ja em et es ens li seu seva meu meva jo tu vosaltres aquest aquesta"
    " això al com quan on perquè també tot tots gràcies hola demà avui aquí",
    "it": "il lo la i gli le di del della dei e o che in un una per con senza non sì è sono sta"
    " ci ma molto più già mi ti si vi suo sua mio mia io tu voi questo questa quello al alla"
    " come quando dove perché anche tutto tutti grazie ciao domani oggi qui",
    "fr": "le la les de du des et ou que qui en un une pour avec sans ne pas non oui est sont"
    " il elle on nous vous ils mais très plus déjà me te se leur son sa mon ma je tu ce cette"
    " ça au aux comme quand où parce aussi tout tous merci bonjour demain aujourd ici",
    "de": "der die das den dem des und oder dass in im ein eine einen für mit ohne nicht nein"
    " ja ist sind hat haben aber sehr mehr schon mich dich sich uns euch ihr sein seine mein"
    " meine ich du wir sie dieser diese dieses am zum zur wie wann wo weil auch alle danke"
    " hallo morgen heute hier bitte",
    "en": "the a an of and or that in on for with without not no yes is are was be have has"
    " but very more already me you he she it we they him her us them my your our this these"
    " those at to as when where because also all thanks hello tomorrow today here please",
}
WORDS = {code: frozenset(words.split()) for code, words in _FUNCTION_WORDS.items()}


class Detector:
    def __init__(
        self,
        languages: Iterable[str],
        *,
        min_letters: int = 8,
        word_weight: float = 2.0,
        margin: float = 0.3,
        short_margin: float = 0.5,
    ) -> None:
        """``languages``: the rooms' languages; the shipped seven are always candidates too.

        ``min_letters``: shorter texts keep the room's language. ``word_weight``: how much a
        message made only of one language's function words adds to lingua's confidence (0-1).
        ``margin``: how far ahead of the room's language another must score to overrule it;
        ``short_margin`` for a text of one or two words ("hello amigos" stays Spanish).
        """
        self._languages = sorted({*languages, *SHIPPED})
        self._codes: dict[str, IsoCode639_1] | None = None  # those lingua knows, once imported
        self._detectors: dict[frozenset[str], LanguageDetector] = {}
        self.min_letters = min_letters
        self.word_weight = word_weight
        self.margin = margin
        self.short_margin = short_margin

    def warm(self) -> None:
        """Import lingua and learn which of the languages it knows. Nothing calls this on the
        bridge's way (the first line that needs lingua does it, in about 0.1 s): it is for a
        benchmark or a test that wants that cost out of its figures. The trigram models of a
        language load the first time a line has it as a candidate (about 1 MiB each)."""
        if self._codes is None:
            from lingua import IsoCode639_1

            codes = {}
            for code in self._languages:
                try:
                    codes[code] = IsoCode639_1.from_str(code)
                except ValueError:
                    continue  # a language lingua does not know: it is never detected
            self._codes = codes

    def _detector(self, candidates: frozenset[str]) -> LanguageDetector:
        """A low-accuracy lingua detector for ``candidates`` (lingua shares the models
        between detectors: each language's loads once)."""
        found = self._detectors.get(candidates)
        if found is None:
            from lingua import LanguageDetectorBuilder

            assert self._codes is not None
            codes = [self._codes[c] for c in sorted(candidates)]
            builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
            found = self._detectors[candidates] = builder.with_low_accuracy_mode().build()
        return found

    def scores(self, text: str) -> dict[str, float]:
        """Each candidate language's score for ``text`` (empty when it has too few letters)."""
        return self._scores(text)[0]

    def _scores(
        self, text: str, min_letters: int | None = None, room: str | None = None
    ) -> tuple[dict[str, float], int]:
        """The scores, and how many words they were drawn from. Candidates: ``room``, the
        languages whose function words ``text`` holds, and those without a word list; every
        language when the text holds no listed word."""
        # lone surrogates (a forged event's JSON can carry them) cannot reach lingua: dropped
        words = _NOISE.sub(" ", text[:_SAMPLE_CHARS])
        if sum(ch.isalpha() for ch in words) < (min_letters or self.min_letters):
            return {}, 0
        self.warm()
        assert self._codes is not None
        tokens = [w.lower() for w in _WORD.findall(words)]
        hits = {code: sum(t in vocabulary for t in tokens) for code, vocabulary in WORDS.items()}
        heard = {code for code, n in hits.items() if n}
        candidates = frozenset(
            code
            for code in self._codes
            if not heard or code in heard or code == room or code not in WORDS
        )
        if len(candidates) < 2:  # lingua has nothing to choose between
            return {code: 1.0 + self.word_weight for code in candidates}, len(tokens)
        found = {
            v.language.iso_code_639_1.name.lower(): v.value
            for v in self._detector(candidates).compute_language_confidence_values(words)
        }
        for code, n in hits.items():
            if code in found and tokens:
                found[code] += self.word_weight * n / len(tokens)
        return found, len(tokens)

    def identify(self, text: str) -> str | None:
        """The best-scoring language of ``text`` alone, or None when it has no letter."""
        found = self._scores(text, min_letters=1)[0]
        return max(found, key=found.__getitem__) if found else None

    def detect(self, text: str, default: str) -> str:
        """The language of ``text`` posted in a room whose language is ``default``.

        A text with more of the room language's function words than of any other language's
        is in the room's language, without asking lingua (nor importing it)."""
        tokens = [w.lower() for w in _WORD.findall(_NOISE.sub(" ", text[:_SAMPLE_CHARS]))]
        if default in WORDS:
            hits = {code: sum(t in words for t in tokens) for code, words in WORDS.items()}
            if hits[default] > max(n for code, n in hits.items() if code != default):
                return default
        found, words = self._scores(text, room=default)
        if not found:
            return default
        best = max(found, key=found.__getitem__)
        margin = self.short_margin if words < 3 else self.margin
        if best == default or found[best] - found.get(default, 0.0) < margin:
            return default
        return best
