"""Commands that protect a room from people in other cities: block, unblock, blocks, report.

``block`` (a moderator, as a reply to a copy) keeps that copy's sender out of this room, for
30 days unless the moderator says ``7d``, ``12h``, ``2w`` or ``forever``. The sender is named
by a keyed hash of their platform id per circle (``ModerationPolicy.sender_hash``), never by
name: a block survives a name change and reveals nothing; the flags live in the moderation
state's mirror, so deciding costs no round trip per message. The sender is not told. The
name shown at block time (public in the room already) is kept for ``blocks``.

``report`` (anyone, as a reply to a copy) tells the origin room's moderators, in their
language, as a reply to the original there; the reporter's reason is member text, carried
as such, one line, at most ``REASON_CHARS``. Reports of one message are merged: one notice,
and each reporter (by keyed hash) counted once. Everything is audited, ids only.
"""

from __future__ import annotations

import json
import re
import time
from typing import cast

from pydantic import ValidationError

from bridge.commands.registry import Call, command
from bridge.config.models import CircleConfig
from bridge.model import keys
from bridge.model.compose import one_line, shorten, unmarked
from bridge.model.envelope import Envelope, MsgRef
from bridge.model.i18n import Lines, Message, Param, _, ngettext
from bridge.relay.attribution import attribution
from bridge.relay.notices import localize, notice_in

DEFAULT_S = 30 * 86400
MAX_S = 3650 * 86400  # ten years; longer is "forever"
FOREVER_S = 100 * 365 * 86400  # a flag's life when a moderator says forever
REASON_CHARS = 300
_DURATION = re.compile(r"(\d{1,6})([hdw])")
_UNIT_S = {"h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> int | None:
    """``7d``, ``12h``, ``2w`` or ``forever`` (``FOREVER_S``) in seconds; None if not one."""
    word = text.strip().lower()
    if word == "forever":
        return FOREVER_S
    match = _DURATION.fullmatch(word)
    if not match:
        return None
    seconds = int(match.group(1)) * _UNIT_S[match.group(2)]
    return seconds if 0 < seconds <= MAX_S else None


def member_words(text: str, limit: int) -> str:
    """A member's words inside a bridge text: one line, no bridge markers, at most ``limit``."""
    return shorten(one_line(unmarked(text)[0]), limit, len)


async def _copy_of(call: Call, action: str) -> tuple[MsgRef, str] | None:
    """The origin and its sender of the copy the command replies to; else refuse, say why,
    audit, and None."""
    word = call.router.command_prefix(call.room) + action
    target = call.target()
    if target is None:
        await call.say(_("Reply to a message with {command} to use it.", command=word))
        return None
    origin = await call.router.maps.copy_of(call.room.id, target.id)
    sender = ""
    if origin is not None:
        sender = (await call.router.maps.record(origin)).get(".sender", "")
    if origin is None or not sender or origin.room == call.room.id:
        await call.say(
            _("Only copies of messages from other rooms work with {command}; this message was "
              "written here, or the bridge did not carry it. Nothing was changed.", command=word)
        )  # fmt: skip
        await call.audit(action, "refused", message=target.id, detail="not a copy")
        return None
    return origin, sender


def _linking(call: Call, origin: MsgRef) -> list[CircleConfig]:
    """The circles that link the origin's room with this room (a block names the sender by
    each one's hash); sorted, so that the first is the same every time."""
    circles = [c for c in call.router.circles_of_room(call.room.id) if origin.room in c.rooms]
    return sorted(circles, key=lambda c: c.id)


async def _hashes(call: Call, origin: MsgRef, sender: str) -> list[str]:
    circles = [c.id for c in _linking(call, origin)] or [""]
    return [await call.moderation.sender_hash(c, sender) for c in circles]


async def _shown_name(call: Call, origin: MsgRef, sender: str, first_hash: str) -> str:
    """The sender as this room saw them: the attribution from the recent buffer, else the
    heading of the copy the platform quoted, else their pseudonym and room."""
    label = call.router.rooms[origin.room].label if origin.room in call.router.rooms else ""
    circles = _linking(call, origin)
    raw = cast(str | None, await call.redis.get(keys.recent(origin.room, origin.id)))
    if raw is not None and circles and origin.room in call.router.rooms:
        try:
            envelope = Envelope.model_validate_json(raw)
        except ValidationError:
            envelope = None
        if envelope is not None and envelope.sender.id == sender:
            room = call.router.rooms[origin.room]
            platform = call.router.platform_of[room.bot]
            key = call.config.pseudonym_key
            secret = key.get_secret_value().encode() if key else None
            return attribution(circles[0], room, platform, envelope.sender, secret)
    quoted = call.envelope.quoted
    if quoted is not None and quoted.sender.is_bot and quoted.text.strip():
        heading = quoted.text.strip().splitlines()[0].rstrip(":").strip()
        if heading:
            return member_words(heading, 100)
    return f"{first_hash} ({label})" if label else first_hash


@command(
    "block",
    "moderator",
    _("{command} [7d | forever] (as a reply to a copy)"),
    _("that copy's sender no longer reaches this room (30 days unless you say)"),
)
async def block(call: Call) -> None:
    arg = call.args.split()[0] if call.args.split() else ""
    ttl = parse_duration(arg) if arg else DEFAULT_S
    if ttl is None:
        await call.say(_('"{value}" is not a duration: write, for example, {example} or {forever}.'
                         " Nothing was changed.", value=member_words(arg, 20), example="7d",
                         forever="forever"))  # fmt: skip
        await call.audit("block", "refused", message=call.envelope.reply_to or "",
                         detail="not a duration")  # fmt: skip
        return
    found = await _copy_of(call, "block")
    if found is None:
        return
    origin, sender = found
    hashes = await _hashes(call, origin, sender)
    name = await _shown_name(call, origin, sender, hashes[0])
    await call.moderation.state.block(call.room.id, hashes, ttl)
    until = 0 if ttl == FOREVER_S else int(time.time() + ttl)
    record = json.dumps({"name": name, "until": until, "hashes": hashes})
    await call.redis.hset(keys.blocks(call.room.id), hashes[0], record)
    undo = call.router.command_prefix(call.room) + "unblock"
    text: Message
    if ttl == FOREVER_S:
        text = _("Blocked for good: {name} no longer reaches this room. They are not told. "
                 "{command} (as a reply) undoes it.", name=name, command=undo)  # fmt: skip
    elif ttl % 86400 == 0:
        text = ngettext("Blocked for {n} day: {name} no longer reaches this room. They are not "
                        "told. {command} (as a reply) undoes it.",
                        "Blocked for {n} days: {name} no longer reaches this room. They are not "
                        "told. {command} (as a reply) undoes it.",
                        ttl // 86400, name=name, command=undo)  # fmt: skip
    else:
        text = ngettext("Blocked for {n} hour: {name} no longer reaches this room. They are not "
                        "told. {command} (as a reply) undoes it.",
                        "Blocked for {n} hours: {name} no longer reaches this room. They are not "
                        "told. {command} (as a reply) undoes it.",
                        ttl // 3600, name=name, command=undo)  # fmt: skip
    await call.say(text)
    await call.audit("block", "done", message=call.envelope.reply_to or "",
                     detail=f"origin {origin}; {hashes[0]}; {arg or '30d'}")  # fmt: skip


@command(
    "unblock",
    "moderator",
    _("{command} (as a reply to a copy)"),
    _("that copy's sender reaches this room again"),
)
async def unblock(call: Call) -> None:
    found = await _copy_of(call, "unblock")
    if found is None:
        return
    origin, sender = found
    hashes = await _hashes(call, origin, sender)
    await call.moderation.state.unblock(call.room.id, hashes)
    await call.redis.hdel(keys.blocks(call.room.id), *hashes)
    await call.say(_("Unblocked: their messages reach this room again, as the circles say."))
    await call.audit("unblock", "done", message=call.envelope.reply_to or "",
                     detail=f"origin {origin}; {hashes[0]}")  # fmt: skip


@command("blocks", "moderator", _("{command}"), _("who is blocked in this room, and until when"))
async def blocks(call: Call) -> None:
    raw = await call.redis.hgetall(keys.blocks(call.room.id))
    now = time.time()
    parts: list[Param] = []
    for field, value in sorted(raw.items(), key=lambda kv: str(kv[1])):
        try:
            entry = json.loads(str(value))
            name, until = str(entry["name"]), int(entry["until"])
        except (ValueError, KeyError, TypeError):
            continue
        if until and until <= now:
            await call.redis.hdel(keys.blocks(call.room.id), field)  # expired: forgotten
            continue
        if until:
            days = max(1, round((until - now) / 86400))
            parts.append(ngettext("- {name}: {n} more day", "- {name}: {n} more days", days,
                                  name=name))  # fmt: skip
        else:
            parts.append(_("- {name}: for good", name=name))
    if not parts:
        await call.say(_("Nobody is blocked in this room."))
        return
    await call.say(Lines((_("Blocked in this room:"), *parts)))


@command(
    "report",
    "anyone",
    _("{command} [reason] (as a reply to a copy)"),
    _("tells the moderators of the room it came from"),
)
async def report(call: Call) -> None:
    found = await _copy_of(call, "report")
    if found is None:
        return
    origin, _sender = found
    origin_room = call.router.rooms.get(origin.room)
    if origin_room is None:  # a room no longer configured: nobody to tell
        await call.say(_("The room this came from is no longer linked. Nothing was sent."))
        await call.audit("report", "refused", message=call.envelope.reply_to or "",
                         detail=f"origin {origin}; room gone")  # fmt: skip
        return
    reporter = await call.moderation.sender_hash("report", call.who)
    ttl = call.config.retention.message_map_days * 86400
    async with call.redis.pipeline(transaction=True) as pipe:
        pipe.sadd(keys.reports(str(origin)), reporter)
        pipe.expire(keys.reports(str(origin)), ttl)
        pipe.scard(keys.reports(str(origin)))
        _added, _expiry, count = await pipe.execute()
    first = await call.redis.set(keys.notified(f"report:{origin}"), 1, nx=True, ex=ttl)
    if first:
        reason = member_words(call.args, REASON_CHARS)
        text: Message
        if reason:
            text = _("Report from {room}: a member there reports this message. Their words: "
                     "«{reason}»", room=call.room.label, reason=reason)  # fmt: skip
        else:
            text = _("Report from {room}: a member there reports this message.",
                     room=call.room.label)  # fmt: skip
        shown = await localize(text, origin_room.language, call.router.translator)
        call.deliveries.append(
            notice_in(origin_room, shown, key=f"report:{origin}", reply_to=origin.id)
        )
    await call.say(ngettext(
        "Thank you: the moderators of {room} were told. {n} member has reported this message.",
        "Thank you: the moderators of {room} were told. {n} members have reported this message.",
        int(count), room=origin_room.label))  # fmt: skip
    await call.audit("report", "done", message=call.envelope.reply_to or "",
                     detail=f"origin {origin}; reports {int(count)}")  # fmt: skip
