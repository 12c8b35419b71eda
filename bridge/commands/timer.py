"""The share timer: waits that end by the clock, not by someone's message.

A share waiting for its authors' consent (``circles[].consent_minutes``) and a share the
privacy check paused (10 minutes to ``share confirm``) each have a due time in a sorted set.
``run_timer`` (one task of the relay role, on the call-out clock, which tests set) puts an
internal command envelope into the origin room's inbox when one is due: ``share consented
<id>`` or ``share lapsed <who>``. It goes through the relay like any command, in that room's
order, so the effects commit with it. Its sender is ``TIMER``, an id no platform gives a
person (platform ids are ``<platform>:<id>``, Matrix ids ``@user:server``), and the handlers
(bridge.commands.consent) act only for that sender. Several processes may run it: a ZREM
decides which one emits.

This module registers no command, so that importing it (the app does) leaves the order of
the help as the handler modules give it.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from typing import Protocol

from redis.asyncio import Redis

from bridge.config.models import Config
from bridge.infra.bus import Inbox
from bridge.infra.retry import step_until_stopped
from bridge.model import keys
from bridge.model.envelope import Envelope, Sender

TIMER = "translocal:timer"  # the sender of the timer's envelopes


class Clock(Protocol):
    """The call-out clock (bridge.callouts.clock), as far as the timer uses it."""

    def now(self) -> datetime: ...
    async def sleep_until(
        self, when: datetime | None, stop: asyncio.Event, limit_s: float
    ) -> None: ...


async def run_timer(config: Config, redis: Redis, clock: Clock, stop: asyncio.Event) -> None:
    """Until ``stop``: each due consent or lapse becomes an internal command in its room.
    While Redis is away (a restart, a failover) it waits and tries again, like every part."""
    inbox = Inbox(redis, config.redis.shards)

    async def step() -> None:
        rooms = {r.id: r for r in config.rooms}  # linked rooms come and go (bridge.config.linked)
        now = clock.now().timestamp()
        for consent_id in [str(m) for m in await redis.zrangebyscore(keys.CONSENT_DUE, 0, now)]:
            if not await redis.zrem(keys.CONSENT_DUE, consent_id):
                continue  # another process took it
            raw = await redis.get(keys.consent(consent_id))
            room = rooms.get(json.loads(raw)["room"]) if raw else None
            if room is not None:
                await inbox.publish(_internal(room.bot, room.chat, room.topic,
                                              f"consented {consent_id}"))  # fmt: skip
        for member in [str(m) for m in await redis.zrangebyscore(keys.LAPSE_DUE, 0, now)]:
            if not await redis.zrem(keys.LAPSE_DUE, member):
                continue
            room_id, _sep, who = member.partition("\t")
            if room_id in rooms:
                room = rooms[room_id]
                await inbox.publish(_internal(room.bot, room.chat, room.topic, f"lapsed {who}"))
        upcoming = [
            float(pair[1])
            for zset in (keys.CONSENT_DUE, keys.LAPSE_DUE)
            for pair in await redis.zrange(zset, 0, 0, withscores=True)
        ]
        when = datetime.fromtimestamp(min(upcoming), UTC) if upcoming else None
        await clock.sleep_until(when, stop, 1.0)

    await step_until_stopped(step, stop, "share timer")


def _internal(bot: str, chat: str, topic: int | None, args: str) -> Envelope:
    stamp = time.time_ns()
    return Envelope(
        key=f"timer:{args}:{stamp}", kind="command", bot=bot, chat=chat, topic=topic,
        message_id=f"timer-{stamp}", sender=Sender(id=TIMER, name="translocal"),
        command="share", args=args, admin=True, ts=time.time(),
    )  # fmt: skip
