"""The words of call-outs: what each room gets (its text translated once per language, its
heading from the catalogs), and what organizers read (listings, previews), as marked texts
rendered in the room's language (the shell renders them in English). Ids and times are
placeholders, never translated; times are shown in the room's locale and timezone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from bridge.callouts.model import Callout, Request, upcoming, zone_of
from bridge.callouts.schedule_words import schedule_words
from bridge.config.models import Config
from bridge.model.envelope import Span, SpanKind
from bridge.model.i18n import Language, Listing, Message, Param, When, _
from bridge.relay.notices import localize
from bridge.relay.translate import Translator


@dataclass(frozen=True)
class Rendered:
    """A call-out's text for one language, as its deliveries carry it."""

    attribution: str
    text: str
    spans: tuple[Span, ...]
    source: str
    translated: bool
    untranslated: bool


def heading(label: str) -> Message:
    """What a call-out's copies are headed with (the room it was scheduled from, if any)."""
    return _("Call-out ({room})", room=label) if label else _("Call-out")


async def render(
    translator: Translator, callout: Callout, config: Config, languages: set[str]
) -> dict[str, Rendered]:
    """The call-out in each of ``languages``: its text translated once per language, its
    heading from the catalogs."""
    results = await translator.translate(
        callout.text, callout.language, languages, tag=f"callout:{callout.id}"
    )
    label = ""
    if callout.source == "chat" and callout.report_to:
        label = next((r.label for r in config.rooms if r.id == callout.report_to), "")
    out: dict[str, Rendered] = {}
    for language in languages:
        result = results.get(language)
        spans = tuple(
            Span(start=m.start, end=m.end, kind=cast(SpanKind, m.kind), url=m.url)
            for m in (result.marks if result else ())
        )
        out[language] = Rendered(
            attribution=await localize(heading(label), language, translator),
            text=result.text if result else callout.text,
            spans=spans,
            source=result.source if result else callout.language,
            translated=result is not None and result.status == "translated",
            untranslated=result is not None and result.status == "failed",
        )
    return out


def targets_text(callout: Callout) -> Listing:
    names = [_("circle {circle}", circle=c) for c in callout.circles]
    names += [_("room {room}", room=r) for r in callout.rooms]
    return Listing(tuple(names))


def mode_words(callout: Request) -> Message:
    if callout.mode == "instant":
        return _("at the same moment everywhere, {zone} time", zone=callout.tz)
    return _("at each room's local time")


def _next(fires: list[datetime]) -> Param:
    return _("next {when}", when=When(min(fires), "UTC")) if fires else _("nothing left to fire")


def summary(callout: Callout, config: Config, now: datetime) -> Message:
    """One line: id, schedule, mode, where, and the next fire."""
    fires = [f for _room, f in upcoming(callout, config, now) if f is not None]
    line = _("{id}: {schedule} ({mode}) to {targets}, in {language}, from {source}; {next}",
             id=callout.id, schedule=schedule_words(callout), mode=mode_words(callout),
             targets=targets_text(callout), language=Language(callout.language),
             source=callout.source, next=_next(fires))  # fmt: skip
    return _("{line} (pinned)", line=line) if callout.pin else line


async def preview(
    translator: Translator, callout: Callout, config: Config, now: datetime
) -> list[Param]:
    """Room by room: when it goes out (the room's time) and the exact text it will get."""
    plan = upcoming(callout, config, now)
    rendered = await render(translator, callout, config, {room.language for room, _t in plan})
    lines: list[Param] = [
        _("Call-out {id}, {schedule} ({mode}):", id=callout.id,
          schedule=schedule_words(callout), mode=mode_words(callout))
    ]  # fmt: skip
    for room, fire in plan:
        zone = zone_of(callout, room).key
        when: Param = _("nothing left to fire")
        if fire:
            when = _("{local} ({utc})", local=When(fire, zone), utc=When(fire, "UTC"))
        r = rendered[room.language]
        if r.untranslated:
            line = _("- {room} ({language}): {when} (not translated)", room=room.label,
                     language=Language(room.language), when=when)  # fmt: skip
        else:
            line = _("- {room} ({language}): {when}", room=room.label,
                     language=Language(room.language), when=when)  # fmt: skip
        lines += [line, f"  {r.attribution}: {r.text}"]
    return lines
