"""One message, every language: each target language translated once, all of them at once.

The source is the room's language unless detection is confident otherwise. A target that is
the source gets the original. Protected spans and glossary terms are masked before any
provider sees the text. Providers are tried in order, each behind a circuit breaker; the cache
is asked first; a call past the provider's daily character budget is not made. A provider
that answers with a quota or auth error is set aside until the next hour
(``translation.suspend``). An answer that is not in the target language (when detection is
confident) counts as the provider's failure, like HTML or a wrong number of segments. When no
provider succeeds (or none is configured), the result says so and carries the original: the
caller delivers it with a note, never drops it.

With a ``memory`` (``translation.memory``) and ``scopes`` (the memory scopes, the circles, a
message's tag belongs to), the scopes' corrections are asked first and answer with no
provider call, the scopes' terms join the glossary's, and what the message was translated to
is recorded for a later ``fix``. Without them (benches, ``translocal translate``) nothing
changes and nothing more is read or written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from translation.breaker import Breaker
from translation.budget import DailyBudget
from translation.cache import TranslationCache
from translation.detect import Detector
from translation.glossary import Glossary
from translation.memory import Recalled, Recorded, TranslationMemory
from translation.protect import Mark, Masked, mask, unmask
from translation.providers import Provider, ProviderError, Unsupported
from translation.suspend import Suspensions

log = logging.getLogger(__name__)

Status = Literal["original", "translated", "failed"]


@dataclass(frozen=True)
class Result:
    text: str
    status: Status
    source: str  # the language the text was taken to be in
    marks: tuple[Mark, ...] = ()  # formatting that survives, on ``text``
    provider: str | None = None  # None for the original, or a cache hit's provider


@dataclass
class Stats:
    """Counts per provider, for metrics: calls, cache hits, failures."""

    calls: dict[str, int] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    # told of every count as it happens: (provider, "calls" | "hits" | "failures")
    observe: Callable[[str, str], None] | None = None

    def add(self, table: dict[str, int], name: str) -> None:
        table[name] = table.get(name, 0) + 1
        if self.observe is not None:
            kind = next(k for k in ("calls", "hits", "failures") if getattr(self, k) is table)
            self.observe(name, kind)


class ChainTranslator:
    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        cache: TranslationCache | None = None,
        glossary: Glossary | None = None,
        detector: Detector | None = None,
        cooldown_s: float = 30.0,
        budget: DailyBudget | None = None,
        suspensions: Suspensions | None = None,
        memory: TranslationMemory | None = None,
        scopes: Callable[[str], Sequence[str]] | None = None,
    ) -> None:
        self.memory = memory
        self.scopes = scopes  # a message's tag -> the memory scopes (circles) it belongs to
        self.providers = list(providers)
        self.budget = budget  # characters per provider per day; None: no limit
        self.cache = cache
        self.glossary = glossary or Glossary()
        self.detector = detector
        self.breakers = {p.name: Breaker(cooldown_s) for p in self.providers}
        self.stats = Stats()
        self.suspensions = suspensions or Suspensions()

    async def translate(
        self,
        text: str,
        source: str,
        targets: set[str],
        marks: Sequence[Mark] = (),
        tag: str | None = None,
        author: str = "",
    ) -> dict[str, Result]:
        """``text`` in every language of ``targets``. ``tag`` names the message (for purges);
        ``author`` is its sender's display name, kept with the record a ``fix`` reads."""
        if self.detector is not None and text:
            source = self.detector.detect(text, source)
        original = Result(text, "original", source, tuple(marks))
        todo = sorted(t for t in targets if t != source)
        results = dict.fromkeys(targets, original)
        scopes = self.scopes(tag) if self.memory and self.scopes and tag and todo else ()
        recalled = await self.memory.recall(scopes, todo, text) if self.memory else None
        terms = _with(self.glossary.terms, recalled)
        masked = mask(text, tuple(marks), self.glossary.keep, terms)
        if not todo:
            return results
        if masked.trivial:  # only links, emoji, mentions: nothing to translate
            return results
        if recalled is not None:  # the circle's own corrections: no provider asked
            for target, corrected in recalled.corrected.items():
                self.stats.add(self.stats.hits, "memory")
                results[target] = Result(corrected, "translated", source, (), "memory")
            todo = [t for t in todo if t not in recalled.corrected]
        done = await asyncio.gather(
            *(self._one(masked, text, tuple(marks), source, t, tag) for t in todo)
        )
        results.update(zip(todo, done, strict=True))
        if self.memory is not None and scopes and tag:
            copies = {t: r.text for t, r in results.items() if r.status == "translated"}
            if copies:  # only a translated copy can be fixed: keep no text for the others
                await self.memory.keep_record(tag, Recorded(text, source, copies, author))
        return results

    async def _one(
        self,
        masked: Masked,
        text: str,
        marks: tuple[Mark, ...],
        source: str,
        target: str,
        tag: str | None,
    ) -> Result:
        for provider in self.providers:
            name = provider.name
            if self.cache is not None:
                cached = await self.cache.get(name, source, target, masked.text)
                if cached is not None:
                    self.stats.add(self.stats.hits, name)
                    return self._result(cached, masked, source, target, name)
            breaker = self.breakers[name]
            if not self.suspensions.allows(name) or not breaker.allow():
                continue
            if self.budget is not None and not await self.budget.spend(name, len(masked.text)):
                continue  # past today's budget: the next provider, else the original, noted
            self.stats.add(self.stats.calls, name)
            try:
                translated = await provider.translate(masked.text, source, target)
                self._check_language(provider, translated, target)
            except Unsupported:
                continue
            except ProviderError as exc:
                self.stats.add(self.stats.failures, name)
                log.warning("translation by %s failed (%s->%s): %s", name, source, target, exc)
                if exc.kind in ("quota", "auth"):
                    breaker.success()  # not down: set aside by the hour instead
                    await self.suspensions.block(name, exc.kind)
                else:
                    breaker.failure(timeout=exc.timeout)
                continue
            breaker.success()
            if self.cache is not None:
                await self.cache.put(name, source, target, masked.text, translated, tag)
            return self._result(translated, masked, source, target, name)
        return Result(text, "failed", source, marks)  # the original, formatting and all

    def _check_language(self, provider: Provider, translated: str, target: str) -> None:
        """A provider that hands back the text in another language (the source, often) has
        not translated: only said when detection is confident (long enough, clear enough)."""
        if self.detector is None or not provider.verify_language:
            return
        found = self.detector.detect(translated, target)
        if found != target:
            raise ProviderError(f"{provider.name} answered in {found}, not {target}",
                                kind="bad_answer")  # fmt: skip

    @staticmethod
    def _result(translated: str, masked: Masked, source: str, target: str, name: str) -> Result:
        text, marks = unmask(translated, masked, target)
        return Result(text, "translated", source, tuple(marks), name)

    async def purge(self, tag: str) -> None:
        if self.cache is not None:
            await self.cache.purge(tag)
        if self.memory is not None:
            await self.memory.purge(tag)

    async def close(self) -> None:
        for provider in self.providers:
            await provider.close()


def _with(terms: dict[str, dict[str, str]], recalled: Recalled | None) -> dict[str, dict[str, str]]:
    """The glossary's terms, with the circles' own on top (theirs win for their languages)."""
    if recalled is None or not recalled.terms:
        return terms
    merged = {term: dict(forced) for term, forced in terms.items()}
    for term, forced in recalled.terms.items():
        merged.setdefault(term, {}).update(forced)
    return merged
