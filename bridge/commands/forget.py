"""forgetme: a member's every message still in the message map is retracted network-wide.

The messages are found by scanning the origin records (``MapReader.origins_of``: a SCAN of
the message map), never through a per-person index: such an index would itself be a
record of who said what. Each is retracted as ``retract`` does (a delete of every copy, the
text purged by ``purge_text``); the record loses its sender, root and file at once and
vanishes when the deliverers have deleted the copies, so nothing
left names the member. The member is opted out and told how much went.

One run per person at a time (a lock key) and one per person an hour; both keys are named by
a keyed hash of the person, not their id. A handler may run twice for one envelope (a relay
worker that died before committing): the keys carry the envelope key, so the re-run goes on.
"""

from __future__ import annotations

import hashlib
import hmac

from redis.asyncio import Redis

from bridge.commands.registry import Call, command
from bridge.config.models import Config
from bridge.model import keys
from bridge.model.envelope import Delivery, MsgRef
from bridge.model.i18n import _, ngettext
from bridge.moderation.purge import purge_text
from bridge.relay.maps import MapReader, parse_ref

LOCK_S = 600  # a run that died holds the lock this long at most
RATE_S = 3600  # one forgetme per person per hour


def person_hash(config: Config, who: str) -> str:
    """A person as the forgetme keys name them: keyed by the pseudonym key (else the config's
    data_dir, so that it is at least not the bare id)."""
    key = config.pseudonym_key.get_secret_value() if config.pseudonym_key else str(config.data_dir)
    return hmac.new(key.encode(), f"forgetme\0{who}".encode(), hashlib.sha256).hexdigest()[:24]


def lock_key(config: Config, who: str) -> str:
    return keys.forget_lock(person_hash(config, who))


async def origins_of(redis: Redis, who: str) -> list[MsgRef]:
    """Every origin record whose sender is ``who`` (bridge.relay.maps.MapReader.origins_of)."""
    return await MapReader(redis).origins_of(who)


async def _forget(call: Call, origin: MsgRef) -> int:
    """Retract one message of the member: its copies deleted, its text purged, the record
    stripped of everything that names them. How many copies are being deleted."""
    redis, rooms = call.redis, call.router.rooms
    record = await call.router.maps.record(origin)
    targets = [r for r in record if not r.startswith(".") and r in rooms]
    for room_id in targets:
        call.deliveries.append(
            Delivery.to(rooms[room_id], key=f"forgetme:{call.envelope.key}:{origin}>{room_id}",
                        action="delete", origin=origin, language=rooms[room_id].language)
        )  # fmt: skip
    await purge_text(call.config, redis, origin)
    root = parse_ref(record.get(".root"))
    # copies in rooms no longer configured: nothing can delete them now
    stale = [r for r in record if not r.startswith(".") and r not in rooms]
    await MapReader(redis).strip(origin, stale)
    async with redis.pipeline(transaction=True) as pipe:
        if root is not None:
            pipe.zrem(keys.thread(str(root)), str(origin))
        pipe.zrem(keys.thread(str(origin)), str(origin))
        await pipe.execute()
    return len(targets)


@command(
    "forgetme",
    "anyone",
    _("{command}"),
    _("retract all my messages everywhere, and never carry them again"),
)
async def forgetme(call: Call) -> None:
    redis, config, mine = call.redis, call.config, call.envelope.key
    person = person_hash(config, call.who)
    lock, done = keys.forget_lock(person), keys.forget_done(person)
    if not await redis.set(lock, mine, nx=True, ex=LOCK_S) and await redis.get(lock) != mine:
        await call.say(_("Your messages are already being removed. Nothing more to do."))
        await call.audit("forgetme", "refused", detail="already running")
        return
    try:
        earlier = await redis.get(done)
        if earlier is not None and earlier != mine:
            await call.say(_("You asked for this less than an hour ago: everything then was "
                             "removed, and you are opted out. Try again later."))  # fmt: skip
            await call.audit("forgetme", "refused", detail="once an hour")
            return
        await redis.set(done, mine, ex=RATE_S)
        await call.moderation.state.opt_out(call.who, True)
        origins = await origins_of(redis, call.who)
        copies = 0
        for origin in origins:
            copies += await _forget(call, origin)
    finally:
        if await redis.get(lock) == mine:
            await redis.delete(lock)
    word = call.router.command_prefix(call.room) + "optin"
    await call.say(ngettext(
        "Removed {n} message of yours: {copies} copies in other rooms are being deleted, and "
        "the bridge no longer holds its text. You are opted out; {command} undoes that.",
        "Removed {n} messages of yours: {copies} copies in other rooms are being deleted, and "
        "the bridge no longer holds their texts. You are opted out; {command} undoes that.",
        len(origins), copies=copies, command=word))  # fmt: skip
    await call.audit("forgetme", "done", detail=f"{len(origins)} messages; {copies} copies")
