"""Source language detection with lingua: it overrides a room's declared language only when
the text is long enough and the detection confident (a member in Mexico City writing in
English); a short message keeps the room's language."""

from __future__ import annotations

import re
from collections.abc import Iterable

from lingua import IsoCode639_1, LanguageDetector, LanguageDetectorBuilder

_NOISE = re.compile(r"(?:https?://|www\.)\S+|[@#]\w+|\u27e6\d+\u27e7")
_COMMON = ("en", "es", "fr", "de", "pt", "it")


class Detector:
    def __init__(
        self,
        languages: Iterable[str],
        *,
        min_letters: int = 20,
        min_words: int = 4,
        min_confidence: float = 0.8,
    ) -> None:
        codes = []
        for code in sorted({*languages, *_COMMON}):
            try:
                codes.append(IsoCode639_1.from_str(code))
            except ValueError:
                continue  # a language lingua does not know: it is never detected
        self._codes = codes
        self._detector: LanguageDetector | None = None
        self.min_letters = min_letters
        self.min_words = min_words
        self.min_confidence = min_confidence

    def warm(self) -> None:
        """Build the detector and load its models (about a second: call it off the loop)."""
        if self._detector is None:
            self._detector = (
                LanguageDetectorBuilder.from_iso_codes_639_1(*self._codes)
                .with_preloaded_language_models()
                .build()
            )

    def detect(self, text: str, default: str) -> str:
        words = _NOISE.sub(" ", text)
        if sum(ch.isalpha() for ch in words) < self.min_letters:
            return default
        if len(words.split()) < self.min_words:
            return default
        self.warm()
        assert self._detector is not None
        values = self._detector.compute_language_confidence_values(words)
        if not values or values[0].value < self.min_confidence:
            return default
        return values[0].language.iso_code_639_1.name.lower()
