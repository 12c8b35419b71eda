"""The words of call-outs: what each room gets (translated once per language), and what
organizers read (listings, previews, reports), with ids and times kept untranslated."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from bridge.callouts.model import Callout, local_and_utc, upcoming, zone_of
from bridge.config.models import Config
from bridge.model.envelope import Span, SpanKind
from bridge.relay.translate import Translator
from translation.protect import Mark

HEADING = "Call-out"


@dataclass(frozen=True)
class Rendered:
    """A call-out's text for one language, as its deliveries carry it."""

    attribution: str
    text: str
    spans: tuple[Span, ...]
    source: str
    translated: bool
    untranslated: bool


def _marks(text: str, keep: Iterable[str]) -> list[Mark]:
    """Marks over every occurrence of each kept string (ids, times): code is never translated."""
    found: list[tuple[int, int]] = []
    for word in keep:
        if not word:
            continue
        start = text.find(word)
        while start >= 0:
            found.append((start, start + len(word)))
            start = text.find(word, start + len(word))
    marks: list[Mark] = []
    end = -1
    for a, b in sorted(found):
        if a >= end:
            marks.append(Mark(a, b, "code"))
            end = b
    return marks


async def in_language(
    translator: Translator, text: str, language: str, keep: Sequence[str] = ()
) -> str:
    """A fixed English text in ``language`` (the original when it cannot be translated)."""
    results = await translator.translate(text, "en", {language}, _marks(text, keep))
    result = results.get(language)
    return result.text if result is not None and result.status == "translated" else text


async def render(
    translator: Translator, callout: Callout, config: Config, languages: set[str]
) -> dict[str, Rendered]:
    """The call-out in each of ``languages``: translated once per language."""
    results = await translator.translate(
        callout.text, callout.language, languages, tag=f"callout:{callout.id}"
    )
    label = ""
    if callout.source == "chat" and callout.report_to:
        label = next((r.label for r in config.rooms if r.id == callout.report_to), "")
    out: dict[str, Rendered] = {}
    for language in languages:
        heading = await in_language(translator, HEADING, language)
        result = results.get(language)
        spans = tuple(
            Span(start=m.start, end=m.end, kind=cast(SpanKind, m.kind), url=m.url)
            for m in (result.marks if result else ())
        )
        out[language] = Rendered(
            attribution=f"{heading} ({label})" if label else heading,
            text=result.text if result else callout.text,
            spans=spans,
            source=result.source if result else callout.language,
            translated=result is not None and result.status == "translated",
            untranslated=result is not None and result.status == "failed",
        )
    return out


def targets_text(callout: Callout) -> str:
    names = [f"circle {c}" for c in callout.circles] + [f"room {r}" for r in callout.rooms]
    return ", ".join(names)


def summary(callout: Callout, config: Config, now: datetime) -> str:
    """One line: id, schedule, mode, where, and the next fire."""
    fires = [f for _, f in upcoming(callout, config, now) if f is not None]
    nxt = f"next {min(fires):%Y-%m-%d %H:%M} UTC" if fires else "nothing left to fire"
    tz = f" {callout.tz}" if callout.mode == "instant" else ""
    pin = ", pinned" if callout.pin else ""
    return (
        f"{callout.id}: {callout.schedule_text} ({callout.mode}{tz}) to {targets_text(callout)}"
        f", in {callout.language}, from {callout.source}{pin}; {nxt}"
    )


async def preview(
    translator: Translator, callout: Callout, config: Config, now: datetime
) -> list[str]:
    """Room by room: when it goes out (local time and UTC) and the exact text it will get."""
    plan = upcoming(callout, config, now)
    rendered = await render(translator, callout, config, {room.language for room, _ in plan})
    lines = [f"Call-out {callout.id}, {callout.schedule_text} ({callout.mode}):"]
    for room, fire in plan:
        when = local_and_utc(fire, zone_of(callout, room)) if fire else "nothing left to fire"
        r = rendered[room.language]
        note = " (not translated)" if r.untranslated else ""
        lines.append(f"- {room.label} ({room.language}): {when}{note}")
        lines.append(f"  {r.attribution}: {r.text}")
    return lines
