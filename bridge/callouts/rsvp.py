"""RSVP on call-outs: members answer a call-out's copy, the organizers' report counts them.

A call-out with ``rsvp: true`` ends each room's copy with an invitation (``invite``): react ✊
(coming) or 🤔 (maybe), or reply ``rsvp yes|maybe|no`` to the copy. An answer counts for the
occurrence the copy belongs to, in the copy's room. Only counts are stored, never who:

- ``tl:rsvp:c:<id>:<occurrence>``: a hash ``<room>|<answer>`` -> count (and ``.edited``, when
  the report was last edited, for bridge.callouts.rsvp_report);
- ``tl:rsvp:m:<id>:<occurrence>``: a hash ``<room>|<marker>`` -> the member's answer, where the
  marker is an HMAC of the member's id under a random salt of this occurrence
  (``tl:rsvp:s:...``), so that a member counts once per copy and can change her answer, and
  the stored marker does not say who she is;
- ``tl:rsvp:due``: a set of occurrences whose report shows old counts.

One Lua script moves a member's answer (the old count down, the new one up, the marker set,
the occurrence marked due) so that two relay workers counting at once lose nothing, and a
handler run twice for one envelope (a worker that died before committing) changes nothing
more. Everything expires with the call-out's outcomes (``RSVP_S``).

Telegram gives a reaction taken back as a reaction envelope with an empty ``reaction``: the
member's reaction answer is withdrawn. A reaction that is not ✊ or 🤔, a reaction or an
answer on a message that is not a call-out copy with RSVP, and the bot's own reactions (the
relay drops those first) count nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import cast

from redis.asyncio import Redis

from bridge.callouts.model import Callout, occurrence, parse_iso, targets, zone_of
from bridge.callouts.store import CalloutStore
from bridge.commands.registry import Call, command, on_event
from bridge.config.models import Config, RoomConfig
from bridge.model import keys
from bridge.model.i18n import Message, Param, _
from bridge.model.platforms import command_prefix

ANSWERS = ("yes", "maybe", "no")
REACTIONS = {"✊": "yes", "🤔": "maybe"}  # both in Telegram's fixed set of reactions
RSVP_S = 3 * 86400  # as long as the occurrence's outcomes are kept for its report

_VOTE = """
local old = redis.call('HGET', KEYS[2], ARGV[1]) or ''
if old == ARGV[3] then return 0 end
if old ~= '' then redis.call('HINCRBY', KEYS[1], ARGV[2] .. '|' .. old, -1) end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('HINCRBY', KEYS[1], ARGV[2] .. '|' .. ARGV[3], 1)
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[5])
return 1
"""


def _plain(emoji: str) -> str:
    return emoji.replace("\ufe0f", "").strip()


def invite(room: RoomConfig, config: Config) -> Message:
    """The line a copy of an RSVP call-out ends with, the command as this room types it."""
    command = command_prefix(config.bot(room.bot).platform) + "rsvp"
    return _("React ✊ if you are coming, 🤔 if maybe, or reply {command} yes|maybe|no to this "
             "message.", command=command)  # fmt: skip


async def counts(redis: Redis, callout_id: str, occ: str) -> dict[str, int]:
    """``<room>|<answer>`` -> how many, for one occurrence."""
    raw = cast(dict[str, str], await redis.hgetall(keys.rsvp_counts(callout_id, occ)))
    return {k: int(v) for k, v in raw.items() if "|" in k}


def lines(callout: Callout, config: Config, found: dict[str, int]) -> list[Param]:
    """The report's RSVP lines: each target room's counts, then the total."""
    out: list[Param] = []
    total = dict.fromkeys(ANSWERS, 0)
    for room in targets(callout, config):
        n = {a: max(found.get(f"{room.id}|{a}", 0), 0) for a in ANSWERS}
        for a in ANSWERS:
            total[a] += n[a]
        out.append(_("{room}: {yes} coming, {maybe} maybe, {no} not coming.",
                     room=room.label, yes=n["yes"], maybe=n["maybe"], no=n["no"]))  # fmt: skip
    out.append(_("In total: {yes} coming, {maybe} maybe, {no} not coming.",
                 yes=total["yes"], maybe=total["maybe"], no=total["no"]))  # fmt: skip
    return out


async def _copy(call: Call, message_id: str | None) -> tuple[Callout, str] | None:
    """The RSVP call-out a message of this room is a copy of, and its occurrence."""
    if not message_id:
        return None
    origin = await call.router.maps.copy_of(call.room.id, message_id)
    if origin is None or origin.room != call.room.id or not origin.id.startswith("callout:"):
        return None
    callout_id, _sep, stamp = origin.id.removeprefix("callout:").partition(":")
    callout = await CalloutStore(call.redis).get(callout_id)
    if callout is None or not callout.rsvp:
        return None
    try:
        fire = parse_iso(stamp)
    except ValueError:
        return None
    return callout, occurrence(callout, fire, zone_of(callout, call.room))


async def vote(redis: Redis, callout_id: str, occ: str, room: str, who: str, answer: str) -> None:
    """Set ``who``'s answer in ``room`` ("" withdraws it); counts move atomically."""
    salt_key = keys.rsvp_salt(callout_id, occ)
    await redis.set(salt_key, secrets.token_hex(16), nx=True, ex=RSVP_S)
    salt = cast(str, await redis.get(salt_key))
    marker = hmac.new(salt.encode(), who.encode(), hashlib.sha256).hexdigest()[:32]
    await redis.eval(
        _VOTE, 3, keys.rsvp_counts(callout_id, occ), keys.rsvp_marks(callout_id, occ),
        keys.RSVP_DUE,
        f"{room}|{marker}", room, answer, RSVP_S, f"{callout_id}|{occ}",
    )  # fmt: skip


@on_event("reaction")
async def rsvp_reaction(call: Call) -> None:
    """✊ or 🤔 on a copy answers; a reaction taken back (empty) withdraws the answer."""
    reaction = call.envelope.reaction
    if reaction is None:
        return
    answer = REACTIONS.get(_plain(reaction)) if reaction else ""
    if answer is None:
        return
    found = await _copy(call, call.envelope.message_id)
    if found is not None:
        callout, occ = found
        await vote(call.redis, callout.id, occ, call.room.id, call.who, answer)


@command(
    "rsvp",
    "anyone",
    _("{command} yes|maybe|no (as a reply to a call-out)"),
    _("answer a call-out: coming, maybe or not"),
)
async def rsvp_command(call: Call) -> None:
    word = call.router.command_prefix(call.room) + "rsvp"
    answer = call.args.strip().lower()
    if answer not in ANSWERS:
        await call.say(_("Answer with {command} yes|maybe|no, as a reply to a call-out. "
                         "Nothing was counted.", command=word))  # fmt: skip
        return
    found = await _copy(call, call.envelope.reply_to)
    if found is None:
        await call.say(_("Reply to a call-out that asks for answers with {command}. Nothing "
                         "was counted.", command=word))  # fmt: skip
        return
    callout, occ = found
    await vote(call.redis, callout.id, occ, call.room.id, call.who, answer)
    await call.say(_("Counted: {answer}.", answer=answer))
