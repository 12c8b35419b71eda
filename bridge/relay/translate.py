"""The relay's translation: built from the config, or a pass-through when it is not wanted.

With ``translation.daily_char_budget``, each provider spends from a daily budget shared by
every process (``translation.budget``); the day it runs out, ``ops_room`` gets one notice
(never a text), and messages cross untranslated with a note until midnight UTC.

Each circle has a translation memory and glossary of its own (``translation.memory``, taught
by members' ``fix``): a message is looked up in those of its room's circles, in config order.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

from redis.asyncio import Redis

from bridge.config.models import Config
from bridge.infra.metrics import TRANSLATIONS
from bridge.model import keys
from bridge.model.compose import notice_in
from bridge.model.i18n import Param, _
from translation.budget import DailyBudget, OnExhausted
from translation.cache import TranslationCache
from translation.detect import Detector
from translation.glossary import Glossary, load_glossary
from translation.memory import TranslationMemory
from translation.protect import Mark
from translation.providers import Provider, make_provider
from translation.suspend import OnBlocked, Suspensions
from translation.translator import ChainTranslator, Result


class Translator(Protocol):
    async def translate(
        self,
        text: str,
        source: str,
        targets: set[str],
        marks: Sequence[Mark] = (),
        tag: str | None = None,
        author: str = "",
    ) -> dict[str, Result]:
        """``text`` (in ``source``) in every language of ``targets``, each translated once."""
        ...

    async def purge(self, tag: str) -> None: ...

    async def close(self) -> None: ...


class PassThrough:
    """Every room gets the original, as it is (core tests, and benches of the relay alone)."""

    async def translate(
        self,
        text: str,
        source: str,
        targets: set[str],
        marks: Sequence[Mark] = (),
        tag: str | None = None,
        author: str = "",
    ) -> dict[str, Result]:
        return dict.fromkeys(targets, Result(text, "original", source, tuple(marks)))

    async def purge(self, tag: str) -> None:
        return None

    async def close(self) -> None:
        return None


def build_translator(config: Config, redis: Redis | None) -> ChainTranslator:
    """The configured chain. With no providers, every message crosses untranslated, noted."""
    tr = config.translation
    providers = build_providers(config)
    ttl = config.retention.translation_cache_days * 86400
    cache = TranslationCache(redis, keys.TRANSLATION_CACHE, ttl) if redis is not None else None
    glossary = load_glossary(tr.glossary) if tr.glossary else Glossary()
    detector = Detector({r.language for r in config.rooms})
    budget = None
    if tr.daily_char_budget is not None and redis is not None:
        budget = DailyBudget(
            redis,
            keys.TRANSLATION_BUDGET,
            tr.daily_char_budget,
            on_exhausted=_tell_ops(config, redis),
        )
    suspensions = Suspensions(
        redis=redis,
        prefix=f"{keys.TRANSLATION_BUDGET}blocked:",  # + provider:reason:YYYY-MM-DD
        on_blocked=_tell_ops_blocked(config, redis) if redis is not None else None,
    )
    chain = ChainTranslator(
        providers,
        cache=cache,
        glossary=glossary,
        detector=detector,
        budget=budget,
        suspensions=suspensions,
        memory=circle_memory(config, redis) if redis is not None else None,
        scopes=circles_of_tag(config),
    )
    chain.stats.observe = _count
    return chain


def circle_memory(config: Config, redis: Redis) -> TranslationMemory:
    """The circles' translation memory and glossary (what ``fix`` teaches)."""
    return TranslationMemory(
        redis,
        keys.TRANSLATION_MEMORY,
        config.retention.translation_memory_days * 86400,
        record_ttl_s=max(config.retention.translation_cache_days, 1) * 86400,
    )


def circles_of_tag(config: Config) -> Callable[[str], list[str]]:
    """A message's tag (``<room>/<id>``, its origin) -> the circles of its room, in order."""
    circles: dict[str, list[str]] = {}
    for circle in config.circles:
        for room in circle.rooms:
            circles.setdefault(room, []).append(circle.id)

    def of(tag: str) -> list[str]:
        return circles.get(tag.partition("/")[0], [])

    return of


def build_providers(config: Config) -> list[Provider]:
    """The configured providers, in order (also what ``translocal check`` probes)."""
    tr = config.translation
    return [
        make_provider(
            p.canonical_name,
            url=p.url,
            api_key=p.api_key.get_secret_value() if p.api_key else None,
            region=p.region,
            formality=p.formality or "less",
            timeout_s=tr.timeout_s,
        )
        for p in tr.providers
    ]


async def _to_ops(config: Config, redis: Redis, text: Param, kind: str) -> None:
    """One of translation's operational notices, into ``ops_room``'s outbox (none without
    an ops_room: the warning in the log is all there is). Never a text of a member's."""
    if config.ops_room is None:
        return
    room = config.room(config.ops_room)
    delivery = notice_in(room, text, key=f"notice:{kind}:{uuid.uuid4().hex[:8]}")
    await redis.xadd(keys.outbox(room.bot), {"d": delivery.model_dump_json()})


def _tell_ops_blocked(config: Config, redis: Redis) -> OnBlocked:
    """A provider set aside by a quota or auth error: one notice to ``ops_room`` (a day)."""

    async def tell(provider: str, reason: str) -> None:
        if reason == "quota":
            text = _(
                "Translation by {provider} answered that its quota is spent: it is skipped "
                "until the next hour, and tried again then.",
                provider=provider,
            )
        else:
            text = _(
                "Translation by {provider} refused its key: it is skipped until the next "
                "hour; check the key in the config.",
                provider=provider,
            )
        await _to_ops(config, redis, text, f"blocked:{provider}")

    return tell


def _tell_ops(config: Config, redis: Redis) -> OnExhausted:
    async def tell(provider: str, limit: int) -> None:
        text = _(
            "Translation by {provider} has used its daily budget of {limit} characters: "
            "until midnight UTC, messages cross untranslated, with a note.",
            provider=provider,
            limit=limit,
        )
        await _to_ops(config, redis, text, f"budget:{provider}")

    return tell


_OUTCOME = {"calls": "called", "hits": "cached", "failures": "failed"}


def _count(provider: str, kind: str) -> None:
    TRANSLATIONS.labels(provider, _OUTCOME[kind]).inc()
