"""``translocal check``'s translation rows: each provider tried with a short text into every
room language, and what an operator needs to know of it.

Outcomes, per provider: ``ok``; ``key refused``; ``quota exceeded``; ``unreachable`` (no
connection, a timeout, a 5xx); ``language unsupported`` (naming the room languages it lacks:
the next provider in the chain may cover them); ``bad answer`` (it answered, but not a
translation). A key is never part of the outcome's text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from translation.providers import Provider, ProviderError, Unsupported

PROBE_TEXT = "Tenants' assembly on Thursday at seven."
PROBE_SOURCE = "en"
OUTCOMES = {"auth": "key refused", "quota": "quota exceeded", "bad_answer": "bad answer"}


@dataclass(frozen=True)
class Probe:
    provider: str
    outcome: str  # ok, key refused, quota exceeded, unreachable, language unsupported, bad answer
    detail: str
    unsupported: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


async def probe(provider: Provider, languages: Iterable[str]) -> Probe:
    """Translate ``PROBE_TEXT`` into each of ``languages`` (English rooms get Spanish, so a
    network of English rooms still tries the provider); stop at the first hard failure."""
    targets = sorted({lang for lang in languages if lang != PROBE_SOURCE}) or ["es"]
    lacking: list[str] = []
    for target in targets:
        try:
            await provider.translate(PROBE_TEXT, PROBE_SOURCE, target)
        except Unsupported:
            lacking.append(target)
        except ProviderError as exc:
            outcome = OUTCOMES.get(exc.kind, "unreachable")
            return Probe(provider.name, outcome, f"{outcome} ({exc}), trying en->{target}")
    if lacking:
        tried = ", ".join(targets)
        return Probe(provider.name, "language unsupported",
                     f"offers no {', '.join(lacking)} (tried {tried})", tuple(lacking))  # fmt: skip
    return Probe(provider.name, "ok", f"translated en->{', '.join(targets)}")
