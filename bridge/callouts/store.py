"""Call-outs in Redis: one hash of readable JSON, reconciled with the config at start-up.

Call-outs from chat and the CLI live only here, so they survive restarts. Call-outs from the
config are written here at start-up: new ones added, changed ones updated (keeping what has
already fired when only the text changed), removed ones deleted. Every change bumps a
version counter, which schedulers watch to reload.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime
from typing import Any, cast

from redis.asyncio import Redis

from bridge.callouts.model import Callout, from_config, parse_iso
from bridge.config.models import Config
from bridge.model import keys

log = logging.getLogger(__name__)

REPORTS_KEPT = 20
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: ids are read and typed back


def short_id(seed: bytes | None = None) -> str:
    """A short id people can type: six letters and digits (from ``seed`` when given)."""
    raw = seed if seed is not None else secrets.token_bytes(6)
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in raw[:6])


class CalloutStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def all(self) -> dict[str, Callout]:
        raw = cast(dict[str, str], await self.redis.hgetall(keys.CALLOUTS))
        out: dict[str, Callout] = {}
        for callout_id, data in sorted(raw.items()):
            try:
                out[callout_id] = Callout.model_validate_json(data)
            except ValueError:
                log.error("call-out %s in Redis is not readable; ignored", callout_id)  # noqa: TRY400
        return out

    async def get(self, callout_id: str) -> Callout | None:
        data = cast(str | None, await self.redis.hget(keys.CALLOUTS, callout_id))
        return Callout.model_validate_json(data) if data else None

    async def version(self) -> int:
        return int(cast(str | None, await self.redis.get(keys.CALLOUTS_VERSION)) or 0)

    async def add(self, callout: Callout) -> bool:
        """Store a new call-out; False when that id is taken (nothing is changed then)."""
        added = await self.redis.hsetnx(keys.CALLOUTS, callout.id, callout.model_dump_json())
        if added:
            await self.redis.incr(keys.CALLOUTS_VERSION)
        return bool(added)

    async def put(self, callout: Callout, *, reset: bool = False) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.CALLOUTS, callout.id, callout.model_dump_json())
            if reset:
                pipe.delete(keys.callout_cursor(callout.id))
            pipe.incr(keys.CALLOUTS_VERSION)
            await pipe.execute()

    async def remove(self, callout_id: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.CALLOUTS, callout_id)
            pipe.delete(keys.callout_cursor(callout_id), keys.callout_reports(callout_id))
            pipe.incr(keys.CALLOUTS_VERSION)
            removed, *_ = await pipe.execute()
        return bool(removed)

    async def reconcile(self, config: Config, now: float) -> list[str]:
        """Make the config's call-outs those in Redis; chat and CLI ones are kept.
        Returns one line per change, for the log."""
        stored = await self.all()
        changes: list[str] = []
        wanted = {c.id for c in config.callouts}
        for entry in config.callouts:
            fresh = from_config(entry, now)
            old = stored.get(entry.id)
            if old is not None and old.source != "config":
                log.warning("config call-out %s has the id of a call-out from %s; the config one "
                            "is not loaded: rename it", entry.id, old.source)  # fmt: skip
                continue
            if old is None:
                await self.put(fresh, reset=True)
                changes.append(f"added {entry.id}")
                continue
            unchanged = fresh.same_plan(old)
            if unchanged:  # keep what has fired and since when it counts
                fresh = fresh.model_copy(update={"since": old.since, "created": old.created})
            if fresh.model_dump(exclude={"created", "since"}) != old.model_dump(
                exclude={"created", "since"}
            ):
                await self.put(fresh, reset=not unchanged)
                changes.append(f"updated {entry.id}")
        for callout_id, old in stored.items():
            if old.source == "config" and callout_id not in wanted:
                await self.remove(callout_id)
                changes.append(f"removed {callout_id}")
        return changes

    async def cursors(self, callout_id: str) -> dict[str, datetime]:
        raw = cast(dict[str, str], await self.redis.hgetall(keys.callout_cursor(callout_id)))
        return {room: parse_iso(value) for room, value in raw.items()}

    async def add_report(self, callout_id: str, report: dict[str, Any]) -> None:
        key = keys.callout_reports(callout_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, json.dumps(report, ensure_ascii=False))
            pipe.ltrim(key, 0, REPORTS_KEPT - 1)
            await pipe.execute()

    async def reports(self, callout_id: str, count: int = 1) -> list[dict[str, Any]]:
        raw = cast(
            list[str], await self.redis.lrange(keys.callout_reports(callout_id), 0, count - 1)
        )
        return [json.loads(r) for r in raw]
