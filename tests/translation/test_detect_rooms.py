"""Detection in mixed-language rooms: a member writing in another language than the room's is
translated from that language; a short or ambiguous line keeps the room's language; hostile
text (lone surrogates from a forged Matrix event, a huge body, only links and mentions)
never breaks the relay and never invents a language."""

from __future__ import annotations

import pytest

from sandbox.libretranslate import LibreTranslateServer
from translation.detect import Detector
from translation.providers import LibreTranslate
from translation.translator import ChainTranslator

DEMO_ROOMS = {"es", "de", "en"}


@pytest.fixture(scope="module")
def detector() -> Detector:
    found = Detector(DEMO_ROOMS)
    found.warm()
    return found


@pytest.mark.parametrize(
    "text",
    [
        "Wir stehen an eurer Seite",
        "Morgen kann ich leider nicht, ich muss arbeiten",
        "Die Heizung ist seit drei Tagen kaputt, im ganzen Vorderhaus",
    ],
)
def test_a_german_message_in_a_spanish_room_is_taken_for_german(
    detector: Detector, text: str
) -> None:
    assert detector.detect(text, "es") == "de"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Demà ens veiem a l'assemblea del barri amb els veïns", "ca"),
        ("Não se esqueçam dos contratos de arrendamento", "pt"),
        ("On sera combien samedi pour la manif ?", "fr"),
    ],
)
def test_a_close_language_in_a_spanish_room_is_told_apart_from_spanish(
    detector: Detector, text: str, language: str
) -> None:
    """Catalan, Portuguese and French lines in a Spanish room (a member from Barcelona,
    Lisbon or Paris): translated from their own language, not sent to the provider as
    Spanish."""
    assert detector.detect(text, "es") == language


@pytest.mark.parametrize(
    "text",
    ["ok", "👍", "gracias!", "no", "Maria 19h", "hello amigos", "ok ok ok", "https://x.org/a 🙌"],
)
def test_short_or_ambiguous_text_keeps_the_room_language(detector: Detector, text: str) -> None:
    assert detector.detect(text, "es") == "es"


def test_links_mentions_and_numbers_alone_keep_the_room_language(detector: Detector) -> None:
    text = "@marisol_cdmx https://example.org/eviction-notice-building-45 #asamblea 45 19:00"
    assert detector.detect(text, "de") == "de"


def test_a_forged_event_with_lone_surrogates_is_still_detected(detector: Detector) -> None:
    """A Matrix event's JSON may carry "\\ud800" escapes, which json.loads turns into lone
    surrogates; the detection must neither raise nor lose the language."""
    text = "Wir brauchen mehr Leute an der Tür \ud800 morgen um 8 \udfff vor dem Haus"
    assert detector.detect(text, "es") == "de"


def test_a_huge_message_is_detected_from_its_beginning(detector: Detector) -> None:
    """A 60,000-character body (Matrix allows 64 KiB events) is judged on its beginning."""
    text = "Necesitamos más gente en la puerta mañana a las siete. " * 1100
    assert len(text) > 60_000
    assert detector.detect(text, "en") == "es"


async def test_a_german_reply_in_a_spanish_room_is_translated_from_german(
    libre: LibreTranslateServer,
) -> None:
    """Through the real translation chain and the sandbox LibreTranslate: the provider is
    asked for German -> English, and the room's Spanish readers get it from German too."""
    libre.add_phrases({"Wir stehen an eurer Seite": {"en": "We stand with you"}})
    translator = ChainTranslator([LibreTranslate(libre.url)], detector=Detector(DEMO_ROOMS))
    try:
        result = await translator.translate("Wir stehen an eurer Seite", "es", {"en"})
    finally:
        await translator.close()
    assert result["en"].source == "de"
    assert result["en"].text == "We stand with you"
