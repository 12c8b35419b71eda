"""Leases in Redis: who owns a shard or a bot's outbox, for how long.

A lease is a key holding its owner's id with a time to live. The owner renews it; when the
owner dies the key expires and another process takes it. Renew and release only ever touch a
lease the caller still owns.
"""

from __future__ import annotations

from redis.asyncio import Redis

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Leases:
    def __init__(self, redis: Redis, owner: str, ttl_ms: int) -> None:
        self.redis = redis
        self.owner = owner
        self.ttl_ms = ttl_ms
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self, key: str) -> bool:
        return bool(await self.redis.set(key, self.owner, nx=True, px=self.ttl_ms))

    async def renew(self, key: str) -> bool:
        return bool(await self._renew(keys=[key], args=[self.owner, self.ttl_ms]))

    async def release(self, key: str) -> None:
        await self._release(keys=[key], args=[self.owner])
