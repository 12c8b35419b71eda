"""The bridge's own notices: answers in a room, and operational notices for the operator.

A notice is a delivery like a copy, marked ``notice`` (no message map, no notice of its own
failure). Operational notices go to ``ops_room``, else to the room concerned; they never
carry a message body.

A notice's text is a marked text (``bridge.model.i18n``), rendered for the room it goes to:
from the room language's catalog, with no translation provider involved. A language the
bridge has no catalog for gets the English texts machine-translated by ``localize``, one
msgid at a time (so the translation cache serves every later use), every placeholder
protected: command words, ids, labels and times are placeholders, never translated.
"""

from __future__ import annotations

from bridge.config.models import Config
from bridge.model.compose import notice_in
from bridge.model.envelope import Delivery
from bridge.model.i18n import PLACEHOLDER, Param, has_catalog, placeholders, render, templates
from bridge.relay.translate import Translator
from translation.protect import Mark


async def localize(text: Param, language: str, translator: Translator) -> str:
    """``text`` in ``language``: its catalog's, else machine-translated (cached), else English.

    A machine translation that loses or adds a placeholder is not used (English instead)."""
    if isinstance(text, str) or has_catalog(language):
        return render(text, language)
    machine: dict[str, str] = {}
    for msgid in dict.fromkeys(templates(text)):
        marks = [Mark(m.start(), m.end(), "code") for m in PLACEHOLDER.finditer(msgid)]
        results = await translator.translate(msgid, "en", {language}, marks)
        result = results.get(language)
        if result is None or result.status != "translated":
            continue
        if placeholders(result.text) == placeholders(msgid):
            machine[msgid] = result.text
    return render(text, language, machine)


def notice(config: Config, text: Param, fallback_room: str, key: str | None = None) -> Delivery:
    """An operational notice for ops_room (else ``fallback_room``). Never a message body."""
    return notice_in(config.room(config.ops_room or fallback_room), text, key=key)
