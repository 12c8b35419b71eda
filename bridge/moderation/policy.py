"""Moderation: which threads cross, and the commands that decide it.

A thread is a root message and every reply to it or to a reply in it (the relay tracks the
root of every message in the message map). Per circle:

- ``all``: everything crosses, except threads a moderator held back (``unshare``);
- ``moderated``: only threads a moderator shared (``share``, or the circle's reaction);
- ``tagged``: a message carrying one of the circle's tags shares its thread from there on.

Over that, per room and person: a paused room sends and receives nothing; a thread hidden
from a room no longer reaches it; an opted-out person's messages never cross.

The Bot API cannot fetch history, so ``share`` after the fact reads a buffer of the recent
messages of rooms in moderated and tagged circles (``retention.recent_hours``; purged by
``retract``). All state is ids under ``tl:``, expiring with the message map.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import TYPE_CHECKING, cast

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bridge.commands.registry import COMMANDS, Call, command, is_moderator
from bridge.config.models import CircleConfig, Config, RoomConfig
from bridge.model import keys
from bridge.model.envelope import Delivery, Envelope, MsgRef
from bridge.relay.policy import Gate
from translation.cache import TranslationCache

if TYPE_CHECKING:
    from bridge.relay.router import Router

log = logging.getLogger(__name__)

_TAG = re.compile(r"#(\w+)")
WEEK_S = 7 * 86400
MIRROR_CHECK_S = 0.05  # how stale another process's moderation change may be seen here
MIRROR_RELOAD_S = 60.0


def _plain(emoji: str) -> str:
    return emoji.replace("\ufe0f", "")


class ModerationPolicy:
    def __init__(self, config: Config, redis: Redis) -> None:
        self.config = config
        self.redis = redis
        self.map_ttl_s = config.retention.message_map_days * 86400
        self.recent_s = config.retention.recent_hours * 3600
        circles_of: dict[str, list[CircleConfig]] = {r.id: [] for r in config.rooms}
        for circle in config.circles:
            for room_id in circle.rooms:
                circles_of[room_id].append(circle)
        # A mirror of the moderation state (ids only, small), so that deciding a message
        # costs no round trip: refreshed when another process changed it (a version counter
        # read at most every MIRROR_CHECK_S), and at least every MIRROR_RELOAD_S for expiry.
        self._flags: set[str] = set()
        self._paused: set[str] = set()
        self._opted_out: set[str] = set()
        self._version: int | None = None
        self._checked = 0.0
        self._loaded = 0.0
        self.buffered = {  # rooms whose recent messages are kept for share after the fact
            room for room, circles in circles_of.items() if any(c.relay != "all" for c in circles)
        }

    # ---- the policy ------------------------------------------------------------------------

    async def gate(
        self,
        envelope: Envelope,
        room: RoomConfig,
        root: MsgRef,
        circles: list[CircleConfig],
        rooms: set[str],
    ) -> Gate:
        """Decided from the in-process mirror of the moderation state: no round trip."""
        if not circles:
            return Gate(frozenset(), frozenset())
        await self._fresh()
        if room.id in self._paused or envelope.sender.id in self._opted_out:
            return Gate(frozenset(), frozenset())
        thread = str(root)
        held_of = [keys.held(c.id, thread) in self._flags for c in circles]
        shared_of = [keys.shared(c.id, thread) in self._flags for c in circles]
        allowed = set()
        for circle, held, shared in zip(circles, held_of, shared_of, strict=True):
            if held:
                continue
            if circle.relay == "all" or shared:
                allowed.add(circle.id)
            elif circle.relay == "tagged" and self._tagged(circle, envelope):
                await self.share(circle, root)  # the thread crosses with it from here on
                allowed.add(circle.id)
        open_rooms = frozenset(
            t for t in rooms if t not in self._paused and keys.hidden(t, thread) not in self._flags
        )
        return Gate(frozenset(allowed), open_rooms)

    # ---- the mirror ----------------------------------------------------------------------------

    async def _fresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < MIRROR_CHECK_S:
            return
        self._checked = now
        version = int(await self.redis.get(keys.MOD_VERSION) or 0)
        if version == self._version and now - self._loaded < MIRROR_RELOAD_S:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(keys.MOD_VERSION)
            pipe.zremrangebyscore(keys.MOD_FLAGS, 0, time.time())
            pipe.zrange(keys.MOD_FLAGS, 0, -1)
            pipe.smembers(keys.PAUSED)
            pipe.smembers(keys.OPTED_OUT)
            version_now, _, flags, paused, opted_out = await pipe.execute()
        self._version = int(version_now or 0)
        self._flags = {str(f) for f in flags}
        self._paused = {str(p) for p in paused}
        self._opted_out = {str(o) for o in opted_out}
        self._loaded = now

    async def _change(self, setting: dict[str, int], clearing: list[str]) -> None:
        """Set flags (name -> seconds to live) and clear others, here and in Redis, where they
        are members of one sorted set scored by when they expire."""
        now = time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            if setting:
                pipe.zadd(keys.MOD_FLAGS, {key: now + ttl for key, ttl in setting.items()})
            if clearing:
                pipe.zrem(keys.MOD_FLAGS, *clearing)
            pipe.incr(keys.MOD_VERSION)
            await pipe.execute()
        self._flags |= set(setting)
        self._flags -= set(clearing)

    async def pause(self, room: str, on: bool) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            (pipe.sadd if on else pipe.srem)(keys.PAUSED, room)
            pipe.incr(keys.MOD_VERSION)
            await pipe.execute()
        (self._paused.add if on else self._paused.discard)(room)

    async def opt_out(self, sender: str, out: bool) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            (pipe.sadd if out else pipe.srem)(keys.OPTED_OUT, sender)
            pipe.incr(keys.MOD_VERSION)
            await pipe.execute()
        (self._opted_out.add if out else self._opted_out.discard)(sender)

    async def hide(self, room: str, root: MsgRef) -> None:
        await self._change({keys.hidden(room, str(root)): self.map_ttl_s}, [])

    async def paused(self, room: str) -> bool:
        await self._fresh()
        return room in self._paused

    @staticmethod
    def _tagged(circle: CircleConfig, envelope: Envelope) -> bool:
        return bool({t.lower() for t in _TAG.findall(envelope.text)} & set(circle.tags))

    async def share(self, circle: CircleConfig, root: MsgRef) -> None:
        thread = str(root)
        shared = keys.shared(circle.id, thread)
        await self._change({shared: self.map_ttl_s}, [keys.held(circle.id, thread)])
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.shared_log(circle.id), {thread: time.time()})
            pipe.zremrangebyscore(keys.shared_log(circle.id), 0, time.time() - WEEK_S)
            await pipe.execute()

    async def unshare(self, circle: CircleConfig, root: MsgRef) -> None:
        thread = str(root)
        held = keys.held(circle.id, thread)
        await self._change({held: self.map_ttl_s}, [keys.shared(circle.id, thread)])

    # ---- the recent-messages buffer ----------------------------------------------------------

    async def remember(self, envelope: Envelope, room: RoomConfig, root: MsgRef) -> None:
        """Keep a message of a moderated or tagged circle's room for a later ``share``."""
        if room.id not in self.buffered or self.recent_s <= 0:
            return
        ref = MsgRef(room=room.id, id=envelope.message_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(
                keys.recent(room.id, envelope.message_id),
                envelope.model_dump_json(),
                ex=self.recent_s,
            )
            pipe.zadd(keys.thread(str(root)), {str(ref): envelope.received}, nx=True)
            pipe.expire(keys.thread(str(root)), self.recent_s)
            await pipe.execute()

    async def revise(self, envelope: Envelope, room: RoomConfig) -> None:
        """An edit or a delete of a remembered message: keep the buffer true to the chat."""
        key = keys.recent(room.id, envelope.message_id)
        if envelope.kind == "delete":
            await self.redis.delete(key)
            return
        raw = cast(str | None, await self.redis.get(key))
        if raw is None:
            return
        kept = Envelope.model_validate_json(raw)
        edited = kept.model_copy(update={"text": envelope.text, "spans": envelope.spans})
        await self.redis.set(key, edited.model_dump_json(), keepttl=True)

    async def thread_so_far(self, root: MsgRef) -> list[Envelope]:
        """The remembered messages of a thread, in the order the bridge took them."""
        refs = [str(r) for r in await self.redis.zrange(keys.thread(str(root)), 0, -1)]
        out = []
        for ref in refs:
            room, _, message_id = ref.partition("/")
            raw = cast(str | None, await self.redis.get(keys.recent(room, message_id)))
            if raw is None:
                continue  # expired, retracted or deleted
            with contextlib.suppress(ValidationError):
                out.append(Envelope.model_validate_json(raw))
        return out

    # ---- reactions and joins -----------------------------------------------------------------

    async def event(self, router: Router, envelope: Envelope, room: RoomConfig) -> list[Delivery]:
        if envelope.kind == "joined":
            return await self._welcome(router, envelope, room)
        if envelope.kind != "reaction" or not envelope.reaction:
            return []
        circles = [
            c
            for c in router.circles_of_room(room.id)
            if _plain(c.share_reaction) == _plain(envelope.reaction)
        ]
        if not circles or not is_moderator(self.config, envelope):
            return []
        call = Call(envelope, room, router, moderator=True, organizer=False)
        target = MsgRef(room=room.id, id=envelope.message_id)
        await _share(call, target, circles)
        return call.deliveries

    async def _welcome(
        self, router: Router, envelope: Envelope, room: RoomConfig
    ) -> list[Delivery]:
        if not await self.redis.set(keys.notified(f"joined:{room.id}"), 1, nx=True):
            return []
        prefix = router.command_prefix(room)
        lines = ["Translocal links this room with other cities' rooms:"]
        for circle in router.circles_of_room(room.id):
            lines.append(f"- {_circle_line(router, circle, room)}")
        lines.append(f"Send {prefix}help for the commands.")
        return [await router.notice_to(room, "\n".join(lines), envelope)]


# ---- what the circle's rules say, in words ---------------------------------------------------

_RULE = {
    "all": "everything crosses, unless a moderator holds a thread back",
    "moderated": "a thread crosses when a moderator shares it",
    "tagged": "a message crosses with its thread when it carries one of the tags {tags}",
}


def _circle_line(router: Router, circle: CircleConfig, here: RoomConfig) -> str:
    others = [router.rooms[r] for r in circle.rooms if r != here.id]
    listed = ", ".join(f"{r.label} ({r.language}, {router.platform_of[r.bot]})" for r in others)
    rule = _RULE[circle.relay].format(tags=" ".join(f"#{t}" for t in circle.tags))
    return f"{circle.id}: {listed}. Here, {rule}."


# ---- commands ---------------------------------------------------------------------------------


async def _thread_of(call: Call) -> tuple[MsgRef, MsgRef] | None:
    """The message the command replies to, as (its origin, its thread root)."""
    target = call.target()
    if target is None:
        await call.say(f"Reply to a message with {call.envelope.command} to use it.")
        return None
    origin, root = await call.router.maps.canonical(target.room, target.id)
    return origin, root or origin


def _circles_named(call: Call) -> list[CircleConfig] | None:
    circles = call.router.circles_of_room(call.room.id)
    name = call.args.split()[0] if call.args.split() else ""
    if not name:
        return circles
    found = [c for c in circles if c.id == name]
    return found or None


async def _share(call: Call, target: MsgRef, circles: list[CircleConfig]) -> None:
    router, policy = call.router, _policy(call.router)
    origin, root = await router.maps.canonical(target.room, target.id)
    root = root or origin
    for circle in circles:
        await policy.share(circle, root)
    carried = 0
    remembered = await policy.thread_so_far(root)
    older = _quoted(call, target, origin, remembered)
    for envelope in ([older] if older else []) + remembered:
        room = router.rooms.get(envelope_room(router, envelope) or "")
        if room is None:
            continue
        deliveries = await router.replan(envelope, room)
        carried += bool(deliveries)
        call.deliveries.extend(deliveries)
    reached = sorted(
        {
            router.rooms[r].label
            for c in circles
            for r in c.rooms
            if r != call.room.id and router.rooms[r].receive
        }
    )
    where = ", ".join(reached) or "no other room"
    text = f"Shared with {where}."
    if older is not None:
        hours = call.config.retention.recent_hours
        text += (
            f" Messages older than {hours} hours are not kept: the message replied to and "
            "what follows crossed, not the thread before it."
        )
    elif carried == 0:
        hours = call.config.retention.recent_hours
        text += (
            f" The messages so far are older than {hours} hours and are not kept, so "
            "they did not cross; replies from now on will."
        )
    await call.say(text)
    await call.audit(
        "share",
        "done",
        message=target.id,
        detail=f"circles {','.join(c.id for c in circles)}; root {root}",
    )


def _quoted(
    call: Call, target: MsgRef, origin: MsgRef, remembered: list[Envelope]
) -> Envelope | None:
    """The replied-to message as the platform quoted it, when the buffer no longer has it
    (older than recent_hours) and it was written here (not a copy)."""
    quoted = call.envelope.quoted
    if quoted is None or quoted.message_id != target.id or origin != target:
        return None
    if quoted.sender.is_bot or any(
        e.message_id == target.id and e.chat == call.envelope.chat for e in remembered
    ):
        return None
    e = call.envelope
    return Envelope(
        key=f"quoted:{target}", kind="message", bot=e.bot, chat=e.chat, topic=e.topic,
        message_id=quoted.message_id, sender=quoted.sender, text=quoted.text,
        spans=quoted.spans, ts=quoted.ts or e.ts,
    )  # fmt: skip


def envelope_room(router: Router, envelope: Envelope) -> str | None:
    room = router.room_of(envelope)
    return room.id if room else None


def _policy(router: Router) -> ModerationPolicy:
    policy = router.policy
    assert isinstance(policy, ModerationPolicy)
    return policy


@command(
    "share",
    "moderator",
    "share [circle] (as a reply)",
    "the thread so far crosses now, in order, and later replies follow",
)
async def share(call: Call) -> None:
    circles = _circles_named(call)
    if circles is None:
        await call.say(f"This room is in no circle named {call.args.split()[0]}.")
        return
    target = call.target()
    if target is None:
        await call.say("Reply to a message with share to share its thread.")
        return
    await _share(call, target, circles)


@command(
    "unshare", "moderator", "unshare (as a reply)", "later replies in the thread stop crossing"
)
async def unshare(call: Call) -> None:
    circles = _circles_named(call)
    found = await _thread_of(call)
    if found is None or circles is None:
        return
    _, root = found
    for circle in circles:
        await _policy(call.router).unshare(circle, root)
    await call.say("Later replies in this thread will not cross. Copies already sent stay.")
    await call.audit("unshare", "done", message=call.envelope.reply_to or "", detail=f"root {root}")


@command(
    "retract",
    "anyone",
    "retract (as a reply)",
    "every copy is deleted and its text purged (the author, or a moderator)",
)
async def retract(call: Call) -> None:
    found = await _thread_of(call)
    if found is None:
        return
    origin, _ = found
    redis = call.redis
    record = {
        str(k): str(v)
        for k, v in (await redis.hgetall(keys.origin(origin.room, origin.id))).items()
    }
    author = record.get(".sender") == call.who
    if not author and not (call.moderator and origin.room == call.room.id):
        await call.say(
            "Only the author, or a moderator of the room it came from, can retract it. "
            "Nothing was changed."
        )
        await call.audit(
            "retract", "refused", message=call.envelope.reply_to or "", detail=f"origin {origin}"
        )
        return
    rooms = [r for r in record if not r.startswith(".") and r in call.router.rooms]
    for room_id in rooms:
        room = call.router.rooms[room_id]
        call.deliveries.append(
            Delivery(
                key=f"retract:{origin}>{room_id}",
                action="delete",
                bot=room.bot,
                room=room_id,
                chat=room.chat,
                topic=room.topic,
                origin=origin,
            )
        )
    purged = await purge_text(call.router, origin)
    labels = ", ".join(call.router.rooms[r].label for r in rooms) or "no other room"
    await call.say(
        f"Retracted: the copies in {labels} are being deleted, and the bridge no longer holds "
        "its text. The original here stays until you delete it."
    )
    detail = f"origin {origin}; copies in {len(rooms)} rooms; {purged} purged"
    await call.audit("retract", "done", message=call.envelope.reply_to or "", detail=detail)


async def purge_text(router: Router, origin: MsgRef) -> int:
    """Remove a message's text from everything the bridge holds: the recent buffer, the
    translation cache, deliveries still waiting in outboxes, dead letters. Then rewrite the
    append-only file, so that it is gone on disk too. Returns how many things were purged."""
    redis = router.redis
    purged = await redis.delete(keys.recent(origin.room, origin.id))
    cache = TranslationCache(redis, keys.TRANSLATION_CACHE, 3600)
    purged += await cache.purge(str(origin))
    streams = [keys.outbox(b.id) for b in router.config.bots] + [keys.DEAD_LETTERS]
    needle = f'"origin":{{"room":"{origin.room}","id":"{origin.id}"}}'
    for stream in streams:
        for entry_id, fields in await redis.xrange(stream, "-", "+") or []:
            body = str(next(iter(fields.values()), "")) if fields else ""
            if entry_id is not None and needle in body and '"action":"delete"' not in body:
                purged += await redis.xdel(stream, entry_id)
    with contextlib.suppress(ResponseError):  # one already running will do
        await redis.bgrewriteaof()
    return int(purged)


@command(
    "hide",
    "moderator",
    "hide (as a reply to a copy)",
    "removes that copy here, and the thread stops reaching this room",
)
async def hide(call: Call) -> None:
    found = await _thread_of(call)
    if found is None:
        return
    origin, root = found
    if origin.room == call.room.id:
        await call.say("hide works on copies of messages from other rooms.")
        return
    await _policy(call.router).hide(call.room.id, root)
    room = call.room
    call.deliveries.append(
        Delivery(
            key=f"hide:{origin}>{room.id}",
            action="delete",
            bot=room.bot,
            room=room.id,
            chat=room.chat,
            topic=room.topic,
            origin=origin,
        )
    )
    await call.say(
        "Hidden: that copy is removed here, and this thread no longer reaches this room."
    )
    await call.audit("hide", "done", message=call.envelope.reply_to or "", detail=f"root {root}")


@command("pause", "moderator", "pause", "stop all crossing into and out of this room")
async def pause(call: Call) -> None:
    await _policy(call.router).pause(call.room.id, True)
    await call.say("Paused: nothing crosses into or out of this room until resume.")
    await call.audit("pause", "done")


@command("resume", "moderator", "resume", "restart crossing into and out of this room")
async def resume(call: Call) -> None:
    await _policy(call.router).pause(call.room.id, False)
    await call.say("Resumed: messages cross again as the circles say.")
    await call.audit("resume", "done")


@command(
    "circle",
    "anyone",
    "circle",
    "which rooms this room is linked with, and the threads shared this week",
)
async def circle(call: Call) -> None:
    router = call.router
    circles = router.circles_of_room(call.room.id)
    if not circles:
        await call.say("This room is in no circle: nothing crosses.")
        return
    lines = []
    since = time.time() - WEEK_S
    for c in circles:
        shared = await call.redis.zcount(keys.shared_log(c.id), since, "+inf")
        lines.append(
            f"{_circle_line(router, c, call.room)} Threads shared in the last 7 days: {shared}."
        )
    if await _policy(call.router).paused(call.room.id):
        lines.append("This room is paused.")
    await call.say("\n".join(lines))


@command("optout", "anyone", "optout", "never carry my messages to other rooms")
async def optout(call: Call) -> None:
    await _policy(call.router).opt_out(call.who, True)
    prefix = call.router.command_prefix(call.room)
    await call.say(f"Your messages will not be carried to other rooms. {prefix}optin undoes it.")
    await call.audit("optout", "done")


@command("optin", "anyone", "optin", "carry my messages again")
async def optin(call: Call) -> None:
    await _policy(call.router).opt_out(call.who, False)
    await call.say("Your messages are carried again, as the circles say.")
    await call.audit("optin", "done")


@command("help", "anyone", "help", "these commands")
async def help_(call: Call) -> None:
    prefix = call.router.command_prefix(call.room)
    lines = ["Translocal commands:"]
    for spec in COMMANDS.values():
        who = {"anyone": "", "moderator": " (moderators)", "organizer": " (organizers)"}[spec.right]
        lines.append(f"{prefix}{spec.usage}: {spec.summary}{who}")
    await call.say("\n".join(lines))
