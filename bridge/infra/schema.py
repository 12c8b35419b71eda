"""Schema version of the Redis layout, with ordered upgrade steps (as mautrix's UpgradeTable).

Each step takes the data from version N-1 to N. ``upgrade`` runs the missing steps once,
under a lock, so that several processes starting together do not run a step twice. Data
written by a newer translocal is refused rather than misread.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version

from redis.asyncio import Redis

from bridge.model import keys
from bridge.model.errors import SchemaError

log = logging.getLogger(__name__)

Step = Callable[[Redis], Awaitable[None]]


def _translocal_version() -> str:
    try:
        return version("translocal")
    except PackageNotFoundError:
        return "unknown"


async def _v1_initial(r: Redis) -> None:
    await r.hset(
        keys.META,
        mapping={"created_at": str(int(time.time())), "created_by": _translocal_version()},
    )


STEPS: list[tuple[int, str, Step]] = [
    (1, "initial layout", _v1_initial),
]
LATEST = STEPS[-1][0]


async def current_version(r: Redis) -> int:
    raw = await r.get(keys.SCHEMA)
    return int(raw) if raw is not None else 0


async def upgrade(r: Redis, steps: list[tuple[int, str, Step]] | None = None) -> int:
    """Bring the layout to the latest version; return it."""
    steps = STEPS if steps is None else steps
    latest = steps[-1][0]
    token = uuid.uuid4().hex
    for _ in range(600):  # wait up to a minute for another process's upgrade
        if await r.set(keys.SCHEMA_LOCK, token, nx=True, px=60_000):
            break
        await asyncio.sleep(0.1)
    else:
        raise SchemaError("another process holds the schema upgrade lock for over a minute")
    try:
        current = await current_version(r)
        if current > latest:
            raise SchemaError(
                f"the data in Redis has schema version {current}, newer than this translocal "
                f"knows ({latest}); upgrade translocal"
            )
        for number, description, step in steps:
            if number <= current:
                continue
            log.info("upgrading the Redis layout to version %d: %s", number, description)
            await step(r)
            await r.set(keys.SCHEMA, number)
            current = number
        return current
    finally:
        # release only our own lock
        await r.eval(
            "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end",
            1,
            keys.SCHEMA_LOCK,
            token,
        )
