"""A circle's translation memory and glossary: what its members taught it, in Redis.

- **Segments.** (circle, target language, source segment) -> the corrected target. A segment
  is a whole message's text, normalised (whitespace collapsed to one space and trimmed; case
  kept), so that "the same sentence sent again" matches exactly and nothing else does. The
  translator asks the memory before the cache and before any provider: a hit costs no call.
- **Terms.** (circle, target language, term) -> its forced translation, applied like the
  glossary file's ``terms`` (whole words, any case; ``translation.protect``).
- **What each message was translated to** (``src:<message>``): the source text, its language
  and the translation per target language, kept as long as the translation cache, so that a
  member's ``fix`` of a copy knows what it corrects.

Every key expires after ``ttl_s`` (``retention.translation_memory_days``; the record of what
a message was translated to, after ``record_ttl_s``). They hold text, so each is tagged with
the message it came from and ``purge(tag)`` (a retract) deletes them all. Reads are one round
trip per message: the segments of every (circle, target) pair and the circles' terms in one
pipeline. Keys and values are readable JSON and strings, never pickles.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import cast

from redis.asyncio import Redis

MAX_SEGMENT = 10_000  # characters of a segment (a source text or its correction)
MAX_TERM = 200  # characters of a term or its translation


def normalize(text: str) -> str:
    """Whitespace collapsed and trimmed, case kept: what "the same segment" means."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Segment:
    source: str  # language of the source text
    target: str  # language of the correction
    text: str  # the source segment, normalised
    corrected: str


@dataclass(frozen=True)
class Term:
    term: str  # as typed, in any language
    target: str  # language of its translation
    translation: str


@dataclass(frozen=True)
class Recorded:
    """What one message was translated to: its text, its language, the copies' texts."""

    text: str
    source: str
    copies: dict[str, str] = field(default_factory=dict)  # target language -> translation
    name: str = ""  # the author's display name, so that a corrected copy keeps its attribution


@dataclass(frozen=True)
class Recalled:
    """What the memory holds for one text: corrections per target, and the circles' terms."""

    corrected: dict[str, str]
    terms: dict[str, dict[str, str]]


class TranslationMemory:
    def __init__(self, redis: Redis, prefix: str, ttl_s: int, record_ttl_s: int = 0) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.record_ttl_s = record_ttl_s

    def _segment(self, scope: str, target: str, text: str) -> str:
        digest = hashlib.sha256(normalize(text).encode()).hexdigest()[:40]
        return f"{self.prefix}seg:{scope}:{target}:{digest}"

    def _index(self, scope: str) -> str:
        return f"{self.prefix}index:{scope}"

    def _terms(self, scope: str) -> str:
        return f"{self.prefix}terms:{scope}"

    def _record(self, tag: str) -> str:
        return f"{self.prefix}src:{tag}"

    def tag_key(self, tag: str) -> str:
        """The set of keys made for a message, deleted with it by ``purge``."""
        return f"{self.prefix}tag:{tag}"

    async def recall(self, scopes: Sequence[str], targets: Iterable[str], text: str) -> Recalled:
        """Corrections of ``text`` into ``targets`` (the first scope holding one wins) and
        the terms of every scope (the first scope's translation of a term wins)."""
        targets = sorted(targets)
        if not scopes:
            return Recalled({}, {})
        async with self.redis.pipeline(transaction=False) as pipe:
            for scope in scopes:
                for target in targets:
                    pipe.get(self._segment(scope, target, text))
            for scope in scopes:
                pipe.hgetall(self._terms(scope))
            found = await pipe.execute()
        corrected: dict[str, str] = {}
        pairs = [(s, t) for s in scopes for t in targets]
        for (_scope, target), raw in zip(pairs, found, strict=False):
            if raw is not None and target not in corrected:
                entry = _segment_of(str(raw))
                if entry is not None and entry.text == normalize(text):
                    corrected[target] = entry.corrected
        terms: dict[str, dict[str, str]] = {}
        for table in reversed(found[len(pairs) :]):  # the first scope's last, so it wins
            for name, value in cast(dict[str, str], table).items():
                target, _, term = str(name).partition("\t")
                terms.setdefault(term, {})[target] = str(value)
        return Recalled(corrected, terms)

    async def learn(self, scope: str, segment: Segment, tag: str | None) -> None:
        """Keep a correction; the next same segment into that language is answered by it."""
        key = self._segment(scope, segment.target, segment.text)
        value = json.dumps(
            {"from": segment.source, "to": segment.target, "text": normalize(segment.text),
             "corrected": segment.corrected},
            ensure_ascii=False,
        )  # fmt: skip
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, value, ex=self.ttl_s)
            pipe.sadd(self._index(scope), key)
            pipe.expire(self._index(scope), self.ttl_s)
            if tag:
                pipe.sadd(self.tag_key(tag), key)
                pipe.expire(self.tag_key(tag), self.ttl_s)
            await pipe.execute()

    async def add_term(self, scope: str, term: Term) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._terms(scope), f"{term.target}\t{term.term}", term.translation)
            pipe.expire(self._terms(scope), self.ttl_s)
            await pipe.execute()

    async def keep_record(self, tag: str, record: Recorded) -> None:
        """What a message was translated to (for ``fix``), tagged so that a retract purges it."""
        if self.record_ttl_s <= 0:
            return
        value = json.dumps(
            {
                "text": record.text,
                "source": record.source,
                "copies": record.copies,
                "name": record.name,
            },
            ensure_ascii=False,
        )
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self._record(tag), value, ex=self.record_ttl_s)
            pipe.sadd(self.tag_key(tag), self._record(tag))
            pipe.expire(self.tag_key(tag), max(self.ttl_s, self.record_ttl_s))
            await pipe.execute()

    async def record_of(self, tag: str) -> Recorded | None:
        raw = await self.redis.get(self._record(tag))
        if raw is None:
            return None
        try:
            data = json.loads(str(raw))
            return Recorded(str(data["text"]), str(data["source"]), dict(data["copies"]),
                            str(data.get("name", "")))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            return None

    async def purge(self, tag: str) -> int:
        """Delete every key made for ``tag`` (a message); returns how many."""
        found = [str(k) for k in await self.redis.smembers(self.tag_key(tag))]
        await self.redis.delete(self.tag_key(tag), *found)
        return len(found)

    async def segments(self, scope: str) -> list[Segment]:
        """The circle's corrections still held, in a stable order."""
        members = sorted(str(k) for k in await self.redis.smembers(self._index(scope)))
        if not members:
            return []
        values = await self.redis.mget(members)
        gone = [k for k, v in zip(members, values, strict=True) if v is None]
        if gone:  # expired or purged: the index forgets them too
            await self.redis.srem(self._index(scope), *gone)
        found = (_segment_of(str(v)) for v in values if v is not None)
        return [s for s in found if s is not None]

    async def terms(self, scope: str) -> list[Term]:
        table = cast(dict[str, str], await self.redis.hgetall(self._terms(scope)))
        out = []
        for name, value in sorted(table.items()):
            target, _, term = str(name).partition("\t")
            out.append(Term(term, target, str(value)))
        return out


def _segment_of(raw: str) -> Segment | None:
    try:
        data = json.loads(raw)
        return Segment(str(data["from"]), str(data["to"]), str(data["text"]),
                       str(data["corrected"]))  # fmt: skip
    except (ValueError, KeyError, TypeError):
        return None
