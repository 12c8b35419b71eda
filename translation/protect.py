"""Protected spans: what goes through translation unchanged and in place.

URLs, @mentions, #hashtags, emoji, code (inline and blocks, from the message's formatting),
and the glossary's terms are replaced by placeholders ``⟦n⟧`` before the text is sent to a
provider, and put back afterwards. A glossary pair puts back its forced translation for the
target language instead of the term. Formatting on protected spans (links, mentions, code)
is re-anchored to where the span lands in the translation; other formatting is dropped,
since its words moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# placeholders: mathematical white square brackets, which real text hardly ever holds
OPEN, CLOSE = "\u27e6", "\u27e7"
_PLACEHOLDER = re.compile(OPEN + r"(\d+)" + CLOSE)

_URL = r"(?:https?://|www\.)[^\s<>\"'⟦⟧]+[^\s<>\"'.,;:!?)\]⟦⟧]"
_MENTION = r"(?<![\w@])@[A-Za-z0-9_][A-Za-z0-9_.:-]*[A-Za-z0-9_]"
_HASHTAG = r"(?<![\w#&])#\w+"
# emoji: pictographs and symbols with their modifiers, joiners and flags
_EMOJI = (
    r"(?:[\U0001F1E6-\U0001F1FF]{2}"
    r"|[\u2600-\u27BF\U0001F000-\U0001FAFF\u2B00-\u2BFF\u2300-\u23FF]"
    r"[\uFE0F\U0001F3FB-\U0001F3FF]*(?:\u200D[\u2600-\u27BF\U0001F000-\U0001FAFF][\uFE0F]?)*)"
)
_AUTO = re.compile(
    f"(?P<url>{_URL})|(?P<mention>{_MENTION})|(?P<hashtag>{_HASHTAG})|(?P<emoji>{_EMOJI})"
)

KEPT_FORMATTING = frozenset({"link", "mention", "code", "pre"})


@dataclass(frozen=True)
class Mark:
    """A formatting span of the source text, by character offsets (as the bridge's Span)."""

    start: int
    end: int
    kind: str
    url: str | None = None


@dataclass
class Slot:
    original: str
    forced: dict[str, str] = field(default_factory=dict)  # target language -> replacement
    marks: list[Mark] = field(default_factory=list)  # formatting, relative to the slot


@dataclass
class Masked:
    text: str  # what the provider sees
    slots: list[Slot]

    @property
    def trivial(self) -> bool:
        """Nothing left to translate: only placeholders, spaces and punctuation."""
        rest = _PLACEHOLDER.sub("", self.text)
        return not any(ch.isalpha() for ch in rest)


def mask(
    text: str,
    marks: list[Mark] | tuple[Mark, ...] = (),
    keep: list[str] | tuple[str, ...] = (),
    terms: dict[str, dict[str, str]] | None = None,
) -> Masked:
    """Replace protected spans of ``text`` with placeholders.

    ``keep``: glossary terms never translated. ``terms``: glossary pairs, term -> {language:
    forced translation}. Both match whole words, case-insensitively.
    """
    ranges: list[tuple[int, int, dict[str, str]]] = []  # start, end, forced
    for m in marks:
        if m.kind in ("code", "pre", "link", "mention") and 0 <= m.start < m.end <= len(text):
            ranges.append((m.start, m.end, {}))
    for match in _AUTO.finditer(text):
        ranges.append((match.start(), match.end(), {}))
    for term in keep:
        for match in _word(term).finditer(text):
            ranges.append((match.start(), match.end(), {}))
    for term, forced in (terms or {}).items():
        for match in _word(term).finditer(text):
            ranges.append((match.start(), match.end(), dict(forced)))
    chosen = _no_overlaps(ranges)
    out: list[str] = []
    slots: list[Slot] = []
    pos = 0
    for start, end, forced in chosen:
        out.append(text[pos:start])
        inner = [
            Mark(m.start - start, m.end - start, m.kind, m.url)
            for m in marks
            if m.kind in KEPT_FORMATTING and start <= m.start and m.end <= end
        ]
        out.append(f"{OPEN}{len(slots)}{CLOSE}")
        slots.append(Slot(text[start:end], forced, inner))
        pos = end
    out.append(text[pos:])
    return Masked("".join(out), slots)


def unmask(translated: str, masked: Masked, target: str) -> tuple[str, list[Mark]]:
    """Put the protected spans back; returns the text and the formatting that survives."""
    out: list[str] = []
    marks: list[Mark] = []
    pos = 0
    used: set[int] = set()
    length = 0
    for match in _PLACEHOLDER.finditer(translated):
        before = translated[pos : match.start()]
        out.append(before)
        length += len(before)
        index = int(match.group(1))
        if index >= len(masked.slots) or index in used:
            piece = match.group(0)  # not ours: leave it as it came
        else:
            used.add(index)
            slot = masked.slots[index]
            piece = slot.forced.get(target, slot.original)
            if piece == slot.original:
                marks.extend(
                    Mark(m.start + length, m.end + length, m.kind, m.url) for m in slot.marks
                )
        out.append(piece)
        length += len(piece)
        pos = match.end()
    out.append(translated[pos:])
    # a provider that dropped a placeholder must not make a protected span disappear
    missing = [masked.slots[i].original for i in range(len(masked.slots)) if i not in used]
    text = "".join(out)
    if missing:
        text = text.rstrip() + " " + " ".join(missing)
    return text, marks


def _word(term: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(term) + r"(?!\w)", re.IGNORECASE)


def _no_overlaps(
    ranges: list[tuple[int, int, dict[str, str]]],
) -> list[tuple[int, int, dict[str, str]]]:
    """Keep the earliest, then the longest, of overlapping ranges."""
    chosen: list[tuple[int, int, dict[str, str]]] = []
    for start, end, forced in sorted(ranges, key=lambda r: (r[0], -(r[1] - r[0]))):
        if chosen and start < chosen[-1][1]:
            continue
        chosen.append((start, end, forced))
    return chosen
