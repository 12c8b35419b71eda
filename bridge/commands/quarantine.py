"""Quarantine: a room whose admins were taken over stops sending into the network.

When moderators of two other rooms that share a circle with it each run ``quarantine
<label>``, nothing from that room crosses (the relay's gate, from the in-process mirror of
the moderation state) until one of its own moderators and one moderator of another room run
``release <label>``. Two rooms, not one, so that one compromised room cannot silence
another; one from inside and one from outside to release, so that neither the takers-over
nor an outsider alone can lift it. Votes are per room (a second moderator of the same room
adds nothing) and kept a week. Every step is answered in the room's language, told to the
quarantined room, and audited (ids only).
"""

from __future__ import annotations

from bridge.commands.registry import Call, command
from bridge.config.models import RoomConfig
from bridge.model import keys
from bridge.model.i18n import Param, _
from bridge.relay.notices import localize, notice_in

VOTES_TTL_S = 7 * 86400


def _neighbours(call: Call) -> list[RoomConfig]:
    """This room and every room that shares a circle with it."""
    ids = {call.room.id} | {r for c in call.router.circles_of_room(call.room.id) for r in c.rooms}
    return [call.router.rooms[r] for r in sorted(ids) if r in call.router.rooms]


async def _labelled(call: Call, action: str) -> RoomConfig | None:
    label = call.args.strip()
    found = [r for r in _neighbours(call) if label and r.label.casefold() == label.casefold()]
    if found:
        return found[0]
    word = call.router.command_prefix(call.room) + action
    if label:
        text = _("No room labelled {label} shares a circle with this room. Nothing was changed.",
                 label=label)  # fmt: skip
    else:
        text = _("Name the room: {command} <label>.", command=word)
    await call.say(text)
    await call.audit(action, "refused", detail="no such room")
    return None


async def _tell(call: Call, room: RoomConfig, text: Param, what: str) -> None:
    """A notice in another room (the quarantined one), in its language."""
    shown = await localize(text, room.language, call.router.translator)
    call.deliveries.append(notice_in(room, shown, key=f"{what}:{call.envelope.key}:{room.id}"))


@command(
    "quarantine",
    "moderator",
    _("{command} <room label>"),
    _("with a moderator of a second room, holds everything from a compromised room"),
)
async def quarantine(call: Call) -> None:
    target = await _labelled(call, "quarantine")
    if target is None:
        return
    if target.id == call.room.id:
        await call.say(_("A room cannot quarantine itself: moderators of two other rooms in its "
                         "circle must ask. Nothing was changed."))  # fmt: skip
        await call.audit("quarantine", "refused", detail=f"own room {target.id}")
        return
    state, redis = call.moderation.state, call.redis
    await state.fresh()
    word = call.router.command_prefix(call.room) + "release"
    if target.id in state.quarantined:
        await call.say(_("{room} is already quarantined.", room=target.label))
        return
    votes = keys.quarantine_votes(target.id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.sadd(votes, call.room.id)
        pipe.expire(votes, VOTES_TTL_S)
        pipe.scard(votes)
        _added, _expiry, count = await pipe.execute()
    if int(count) < 2:
        await call.say(_("Noted: {room} is quarantined as soon as a moderator of one more room "
                         "in its circle asks too.", room=target.label))  # fmt: skip
        await call.audit("quarantine", "asked", detail=f"room {target.id}; 1 of 2")
        return
    await state.change_set(keys.QUARANTINED, target.id, True)
    await redis.delete(votes, keys.release_votes(target.id))
    release = f"{word} {target.label}"
    text = _("{room} is quarantined: nothing from it crosses until one of its own moderators "
             "and one moderator of another room run {command}.",
             room=target.label, command=release)  # fmt: skip
    await call.say(text)
    await _tell(call, target, text, "quarantined")
    await call.audit("quarantine", "done", detail=f"room {target.id}")


async def release_room(call: Call) -> None:
    """``release <label>``: one vote from inside the quarantined room, one from outside."""
    target = await _labelled(call, "release")
    if target is None:
        return
    state, redis = call.moderation.state, call.redis
    await state.fresh()
    if target.id not in state.quarantined:
        await call.say(_("{room} is not quarantined. Nothing was changed.", room=target.label))
        await call.audit("release", "refused", detail=f"room {target.id} not quarantined")
        return
    side = "inside" if target.id == call.room.id else "outside"
    votes = keys.release_votes(target.id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.sadd(votes, side)
        pipe.expire(votes, VOTES_TTL_S)
        pipe.smembers(votes)
        _added, _expiry, sides = await pipe.execute()
    if {str(s) for s in sides} != {"inside", "outside"}:
        if side == "inside":
            text = _("Noted: {room} is released when a moderator of another room in its circle "
                     "runs it too.", room=target.label)  # fmt: skip
        else:
            text = _("Noted: {room} is released when one of its own moderators runs it too.",
                     room=target.label)  # fmt: skip
        await call.say(text)
        await call.audit("release", "asked", detail=f"room {target.id}; {side}")
        return
    await state.change_set(keys.QUARANTINED, target.id, False)
    await redis.delete(votes)
    done = _("{room} is out of quarantine: its messages cross again.", room=target.label)
    await call.say(done)
    if target.id != call.room.id:
        await _tell(call, target, done, "released")
    await call.audit("release", "done", detail=f"room {target.id}")
