"""RSVP on call-outs: members answer a call-out's copy, the organizers' report counts them.

A call-out with ``rsvp: true`` ends each room's copy with an invitation (``invite``): react ✊
(coming) or 🤔 (maybe), or reply ``rsvp yes|maybe|no`` to the copy. An answer counts for the
occurrence the copy belongs to, in the copy's room. Only counts are stored, never who:

- ``tl:rsvp:c:<id>:<occurrence>``: a hash ``<room>|<answer>`` -> count (and ``.edited``, when
  the report was last edited, for bridge.callouts.rsvp_report);
- ``tl:rsvp:m:<id>:<occurrence>``: a hash ``<room>|<marker>`` -> the member's answer, where the
  marker is an HMAC of the member's id under a random salt of this occurrence
  (``tl:rsvp:s:...``), so that a member counts once per copy and can change her answer, and
  the stored marker does not say who she is; an answer given by reaction is stored as
  ``<answer>\\tr`` (``BY_REACTION``), one given by ``rsvp`` as ``<answer>``;
- ``tl:rsvp:e:<room>:<reaction id>``: a Matrix reaction's own event id ->
  ``<id>|<occurrence>\\t<room>|<marker>\\t<answer>\\tr``, so that its redaction withdraws it;
- ``tl:rsvp:due``: a set of occurrences whose report shows old counts.

The counting is bridge.infra.tally's (one Lua script moves a member's answer: the old count
down, the new one up, the marker set, the occurrence marked due), so that two relay workers
counting at once lose nothing, and a handler run twice for one envelope (a worker that died
before committing) changes nothing more. Everything expires with the call-out's outcomes
(``RSVP_S``).

Reactions follow what each platform shows. Where a reaction has no id of its own (Telegram),
a reaction update is every reaction the member shows now (``Envelope.reactions``; a Premium
member may show several): ✊ among them answers yes, else 🤔 maybe, and neither (❤️, a
custom emoji, or none: taken back) withdraws an answer she gave by reaction, never one she
gave with ``rsvp``. Where reactions are events of their own (Matrix: ``reaction_id``), a
member may keep several: ✊ or 🤔 answers (her latest counts), other reactions change
nothing, and the redaction of a reaction withdraws the answer it gave if it is still her
answer (redacting her older ✊ leaves her newer 🤔). Reactions or answers on a message that
is not a call-out copy with RSVP, and the bot's own reactions (the relay drops those first),
count nothing.
"""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis

from bridge.callouts.model import Callout, occurrence, parse_iso, targets, zone_of
from bridge.callouts.store import CalloutStore
from bridge.commands.registry import Call, command, is_moderator, on_event
from bridge.config.models import Config, RoomConfig
from bridge.infra import tally
from bridge.model import keys
from bridge.model.envelope import plain_emoji
from bridge.model.i18n import Message, Param, _
from bridge.model.platforms import command_prefix

ANSWERS = ("yes", "maybe", "no")
REACTIONS = {"✊": "yes", "🤔": "maybe"}  # both in Telegram's fixed set of reactions
RSVP_S = 3 * 86400  # as long as the occurrence's outcomes are kept for its report

BY_REACTION = "\tr"  # the tag of an answer given by reaction (bridge.infra.tally values)


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


def tally_of(callout_id: str, occ: str, room: str = "") -> tally.Tally:
    """One occurrence's answers; ``room``: whose counts a move changes."""
    return tally.Tally(
        counts=keys.rsvp_counts(callout_id, occ), marks=keys.rsvp_marks(callout_id, occ),
        due=keys.RSVP_DUE, member=f"{callout_id}|{occ}", ttl=RSVP_S, prefix=f"{room}|",
    )  # fmt: skip


async def vote(
    redis: Redis, callout_id: str, occ: str, room: str, who: str, answer: str,
    *, only_from: tuple[str, ...] = (),
) -> str:  # fmt: skip
    """Set ``who``'s answer in ``room`` ("" withdraws it; ``<answer>\\tr``: by reaction);
    counts move atomically. With ``only_from``: only when her answer now is one of those.
    Her marker, for a reaction's record."""
    marker = await tally.marker(redis, keys.rsvp_salt(callout_id, occ), who, RSVP_S)
    mark = f"{room}|{marker}"
    await tally.move(redis, tally_of(callout_id, occ, room), mark, answer, only_from=only_from)
    return mark


@on_event("reaction")
async def rsvp_reaction(call: Call) -> None:
    """✊ or 🤔 on a copy answers. Telegram (no reaction id): the update is every reaction she
    shows now (a Premium member may show several): ✊ among them answers yes, else 🤔 maybe,
    and neither (another, a custom one, or none) withdraws an answer given by reaction.
    Matrix: other reactions change nothing; a redaction withdraws (``rsvp_redacted``)."""
    envelope = call.envelope
    if envelope.reaction is None:
        return
    shown = {REACTIONS.get(plain_emoji(e)) for e in envelope.shown}
    answer = "yes" if "yes" in shown else "maybe" if "maybe" in shown else None
    if answer is None and envelope.reaction_id:
        return  # one more reaction among a Matrix member's reactions: her answer stays
    found = await _copy(call, envelope.message_id)
    if found is None:
        return
    callout, occ = found
    if answer is None:  # her one reaction is no longer ✊/🤔: an answer by reaction goes
        by_reaction = tuple(a + BY_REACTION for a in REACTIONS.values())
        await vote(call.redis, callout.id, occ, call.room.id, call.who, "", only_from=by_reaction)
        return
    value = answer + BY_REACTION
    mark = await vote(call.redis, callout.id, occ, call.room.id, call.who, value)
    if envelope.reaction_id:
        record = f"{callout.id}|{occ}\t{mark}\t{value}"
        key = keys.rsvp_event(call.room.id, envelope.reaction_id)
        await call.redis.set(key, record, ex=RSVP_S)


@on_event("delete")
async def rsvp_redacted(call: Call) -> None:
    """A deleted reaction (a Matrix redaction of it): the answer it gave goes, if it is still
    the member's answer (not a newer reaction's, nor one given with ``rsvp``), and if she
    took it back herself or a moderator of the room did (a redaction by anyone else, which
    a homeserver may pass on, withdraws nothing)."""
    key = keys.rsvp_event(call.room.id, call.envelope.message_id)
    raw = cast(str | None, await call.redis.get(key))
    if raw is None:
        return
    member, mark, given = raw.split("\t", 2)
    callout_id, _sep, occ = member.partition("|")
    if not is_moderator(call.config, call.envelope):
        mine = await tally.marker(call.redis, keys.rsvp_salt(callout_id, occ), call.who, RSVP_S)
        if mark != f"{call.room.id}|{mine}":
            return
    await call.redis.delete(key)
    found = tally_of(callout_id, occ, call.room.id)
    await tally.move(call.redis, found, mark, "", only_from=(given,))


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
