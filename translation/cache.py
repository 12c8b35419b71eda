"""The translation cache in Redis: keyed by provider, language pair and a hash of the text as
the provider saw it (protected spans masked), expiring after ``ttl_s``.

Entries are tagged with the message they came from, so that a retraction can purge them.
"""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis


class TranslationCache:
    def __init__(self, redis: Redis, prefix: str, ttl_s: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_s = ttl_s

    def _key(self, provider: str, source: str, target: str, text: str) -> str:
        digest = hashlib.sha256(text.encode()).hexdigest()[:40]
        return f"{self.prefix}{provider}:{source}:{target}:{digest}"

    def _tag(self, tag: str) -> str:
        return f"{self.prefix}tag:{tag}"

    async def get(self, provider: str, source: str, target: str, text: str) -> str | None:
        if self.ttl_s <= 0:
            return None
        value = await self.redis.get(self._key(provider, source, target, text))
        return None if value is None else str(value)

    async def put(
        self, provider: str, source: str, target: str, text: str, value: str, tag: str | None
    ) -> None:
        if self.ttl_s <= 0:
            return
        key = self._key(provider, source, target, text)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(key, value, ex=self.ttl_s)
            if tag:
                pipe.sadd(self._tag(tag), key)
                pipe.expire(self._tag(tag), self.ttl_s)
            await pipe.execute()

    async def purge(self, tag: str) -> int:
        """Delete every entry made for ``tag`` (a message); returns how many."""
        keys = [str(k) for k in await self.redis.smembers(self._tag(tag))]
        await self.redis.delete(self._tag(tag), *keys)
        return len(keys)
