"""Detection: the room's language is overruled only by a long enough, confident detection."""

from __future__ import annotations

from sandbox.libretranslate import LibreTranslateServer
from translation.detect import Detector
from translation.providers import LibreTranslate
from translation.translator import ChainTranslator


async def test_detection_overrides_the_room_language_only_when_sure(
    libre: LibreTranslateServer,
) -> None:
    translator = ChainTranslator([LibreTranslate(libre.url)], detector=Detector({"es", "de", "en"}))
    try:
        english = await translator.translate("We need more people at the door.", "es", {"de", "en"})
        short = await translator.translate("hello amigos", "es", {"en"})
    finally:
        await translator.close()
    assert english["en"].status == "original"  # already English: not translated
    assert english["de"].source == "en"
    assert english["de"].text == "Wir brauchen mehr Leute an der Tür."
    assert short["en"].source == "es"  # too short to overrule the room
