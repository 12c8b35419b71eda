"""Votes on poll copies, ``vote N`` and ``poll results``; the results when a poll closes.

A ``vote`` envelope (adapters make one from their platform's poll updates: Telegram's counts
of a poll the bot sent, a Matrix poll response) counts only on a copy the bridge sent of a
poll it carried: the message map says which origin a copy stands for, and the poll's record
(``bridge.relay.polls``) that it is a poll. A vote on anything else (a member's own poll, a
text, an unknown message, an option that does not exist) counts nothing, silently: it is
someone's client or platform speaking, not a member asking. ``vote N`` is the same, typed by a
member where the copy is a numbered list; it is answered, since a member asked.

When a copy closes (Telegram ``is_closed``, Matrix ``poll.end``), the results go once to every
room that has a copy and to the origin room, each in its language, as a reply to the poll.
"""

from __future__ import annotations

from bridge.commands.registry import Call, command, on_event
from bridge.model import keys
from bridge.model.compose import notice_in
from bridge.model.envelope import Ballot, MsgRef
from bridge.model.i18n import Param, _
from bridge.relay.notices import localize
from bridge.relay.polls import Tally, results_text


def _tally(call: Call) -> Tally:
    return Tally(call.redis, call.config.retention.message_map_days * 86400)


async def _results(call: Call, origin: MsgRef, tally: Tally, *, closed: bool = False) -> Param:
    labels = {room.id: room.label for room in call.router.rooms.values()}
    counts = await tally.counts(origin)
    return results_text(await tally.options(origin), counts, labels, origin.room, closed=closed)


@on_event("vote")
async def counted(call: Call) -> None:
    ballot = call.envelope.ballot
    if ballot is None:
        return
    origin = await call.router.maps.copy_of(call.room.id, call.envelope.message_id)
    tally = _tally(call)
    if origin is None or not await tally.options(origin):
        return  # not a copy of a poll the bridge carried: counts nothing
    await tally.record(origin, call.room.id, call.who, ballot)
    if ballot.closed:
        await _closed(call, origin, tally)


async def _closed(call: Call, origin: MsgRef, tally: Tally) -> None:
    """The results, once, in every room with a copy and in the origin room."""
    ttl = call.config.retention.message_map_days * 86400
    if not await call.redis.set(keys.poll_closed(str(origin)), 1, nx=True, ex=ttl):
        return
    text = await _results(call, origin, tally, closed=True)
    record = await call.router.maps.record(origin)
    where: dict[str, str | None] = {origin.room: origin.id}
    for room_id, raw in record.items():
        if not room_id.startswith("."):
            ids = raw.strip('[]"').split('","') if raw.startswith("[") else []
            where[room_id] = ids[0] if ids and ids[0] else None
    for room_id, reply_to in where.items():
        room = call.router.rooms.get(room_id)
        if room is None or (not room.receive and room_id != origin.room):
            continue
        shown = await localize(text, room.language, call.router.translator)
        key = f"notice:poll-closed:{origin}:{room_id}"
        call.deliveries.append(notice_in(room, shown, key=key, reply_to=reply_to))


async def _poll_of(call: Call, word: str) -> tuple[MsgRef, Tally] | None:
    """The poll the command replies to (its copy, or the original here), or None, answered."""
    tally = _tally(call)
    target = call.envelope.reply_to
    if target:
        origin, _root = await call.router.maps.canonical(call.room.id, target)
        if await tally.options(origin):
            return origin, tally
    await call.say(
        _(
            "That is not a poll the bridge carried: reply {command} to a poll or to its copy.",
            command=call.router.command_prefix(call.room) + word,
        )
    )
    return None


@command(
    "poll",
    "anyone",
    _("{command} results (as a reply to a poll)"),
    _("the votes on a poll, per city and in all"),
)
async def poll(call: Call) -> None:
    word = "poll results"
    if call.args.strip().lower() != "results":
        await call.say(
            _(
                "Reply {command} to a poll to see its votes.",
                command=call.router.command_prefix(call.room) + word,
            )
        )
        return
    found = await _poll_of(call, word)
    if found is not None:
        await call.say(await _results(call, *found))


@command(
    "vote",
    "anyone",
    _("{command} N (as a reply to a poll's copy)"),
    _("vote for option N of a poll shown as a numbered list"),
)
async def vote(call: Call) -> None:
    found = await _poll_of(call, "vote N")
    if found is None:
        return
    origin, tally = found
    n = await tally.options(origin)
    arg = call.args.strip()
    # isdecimal, not isdigit: "²" is a digit that int() refuses, and would stop the relay
    number = int(arg) if arg.isdecimal() and len(arg) < 4 else 0
    copy = await call.router.maps.copy_of(call.room.id, call.envelope.reply_to or "")
    if copy is None:  # the original: its votes are the platform's, in the poll itself
        await call.say(
            _(
                "Vote in the poll itself: {command} counts on the bridge's copies.",
                command=call.router.command_prefix(call.room) + "vote",
            )
        )
        return
    if not 1 <= number <= n:
        await call.say(
            _(
                "There is no option {value} in this poll: reply with a number from 1 to {n}.",
                value=arg[:20],
                n=n,
            )
        )
        return
    await tally.record(origin, call.room.id, call.who, Ballot(choices=(number - 1,)))
    await call.say(_("Your vote for option {number} is counted.", number=number))
