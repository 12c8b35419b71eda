"""Purge: a retracted message's text leaves everything the bridge holds, on disk too.

The recent-messages buffer, the translation cache and memory, the bytes of its file
(``tl:media:<sha256>``, named in the message map record and in the buffered envelope),
deliveries still waiting in outboxes and the dead letters; then the append-only file is
rewritten (BGREWRITEAOF), since it keeps deleted values on disk until then (design.md's
safety rules). ``retract`` and a deletion on the platform (which the relay turns into a
retract) both come here.
"""

from __future__ import annotations

import contextlib
from typing import cast

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bridge.config.models import Config
from bridge.infra.bus import compact
from bridge.model import keys
from bridge.model.envelope import Envelope, MsgRef
from bridge.relay import reactions
from bridge.relay.maps import MapReader
from translation.cache import TranslationCache
from translation.memory import TranslationMemory


async def purge_text(config: Config, redis: Redis, origin: MsgRef) -> int:
    """Remove a message's text from everything the bridge holds; how many things were purged."""
    keep_s = config.retention.message_map_days * 86400
    # copies still on their way are not sent, or deleted once recorded (bridge.relay.deliverer)
    await redis.set(keys.retracted(str(origin)), 1, ex=keep_s)
    blobs = await _blobs(MapReader(redis), origin)
    purged = await redis.delete(keys.recent(origin.room, origin.id))
    purged += await redis.delete(*reactions.all_keys(origin))  # copies kept for reaction counts
    # the copies a room's word filter holds (bridge.moderation.filters.hold_of): one per room
    purged += await redis.delete(*(keys.filter_hold(f"{origin}>{r.id}") for r in config.rooms))
    if blobs:  # the same bytes sent again by someone else go too: they were these bytes
        purged += await redis.delete(*blobs)
    cache = TranslationCache(redis, keys.TRANSLATION_CACHE, 3600)
    purged += await cache.purge(str(origin))
    # the circles' memory: what it was translated to, corrections learned from it, proposals
    purged += await TranslationMemory(redis, keys.TRANSLATION_MEMORY, 0).purge(str(origin))
    streams = [keys.outbox(b.id) for b in config.bots] + [keys.DEAD_LETTERS]
    needle = f'"origin":{{"room":"{origin.room}","id":"{origin.id}"}}'
    for stream in streams:
        for entry_id, fields in await redis.xrange(stream, "-", "+") or []:
            body = str(next(iter(fields.values()), "")) if fields else ""
            if entry_id is not None and needle in body and '"action":"delete"' not in body:
                purged += await redis.xdel(stream, entry_id)
    await compact(redis, keys.DEAD_LETTERS)  # a deleted entry's bytes stay in its node
    with contextlib.suppress(ResponseError):  # one already running will do
        await redis.bgrewriteaof()
    return int(purged)


async def _blobs(maps: MapReader, origin: MsgRef) -> list[str]:
    """The media keys of a message: from its map record, and from the buffered envelope."""
    redis = maps.redis
    found = (await maps.record(origin)).get(".media")
    blobs = {found} if found else set()
    raw = cast(str | None, await redis.get(keys.recent(origin.room, origin.id)))
    if raw is not None:
        with contextlib.suppress(ValidationError):
            media = Envelope.model_validate_json(raw).media
            if media is not None and media.blob:
                blobs.add(media.blob)
    return sorted(b for b in blobs if b.startswith(keys.media("")))
