"""Commands on threads: share (and the share reaction), unshare, retract, hide.

``share`` carries the thread so far from the recent-messages buffer, in order, and lets later
replies follow; older than the buffer, it carries the replied-to message as the platform
quoted it, and what follows. ``retract`` deletes every copy and purges the text from
everything the bridge holds. Each answer is a notice in the room's language; each action
and each refusal is audited (ids only).
"""

from __future__ import annotations

import json
import time

from bridge.commands.registry import Call, command, on_event
from bridge.commands.timer import TIMER
from bridge.config.models import CircleConfig
from bridge.infra.links import LinkStore
from bridge.model import keys
from bridge.model.envelope import Delivery, Envelope, MsgRef, plain_emoji
from bridge.model.i18n import Listing, _, ngettext
from bridge.moderation.privacy import CONFIRM_S, KINDS, findings
from bridge.moderation.purge import purge_text


async def _thread_of(call: Call) -> tuple[MsgRef, MsgRef] | None:
    """The message the command replies to, as (its origin, its thread root)."""
    target = call.target()
    if target is None:
        word = call.router.command_prefix(call.room) + (call.envelope.command or "")
        await call.say(_("Reply to a message with {command} to use it.", command=word))
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


async def _not_ours(call: Call, action: str, root: MsgRef) -> bool:
    """A thread is shared or held only by moderators of the room it comes from: from any other
    room (a copy of it, a reply to a copy), refuse, say why, and audit the attempt."""
    if root.room == call.room.id:
        return False
    origin = call.router.rooms.get(root.room)
    word = call.router.command_prefix(call.room) + action
    if origin is None:
        text = _("This thread comes from another room: only its moderators can use {command} "
                 "on it. Nothing was changed.", command=word)  # fmt: skip
    else:
        text = _("This thread comes from {room}: only its moderators can use {command} on it. "
                 "Nothing was changed.", room=origin.label, command=word)  # fmt: skip
    await call.say(text)
    await call.audit(
        action, "refused", message=call.envelope.reply_to or call.envelope.message_id,
        detail=f"thread of {root.room}",
    )  # fmt: skip
    return True


async def _paused(
    call: Call, target: MsgRef, circles: list[CircleConfig], envelopes: list[Envelope]
) -> bool:
    """The privacy check (bridge.moderation.privacy): when the thread shows personal data,
    nothing crosses until the moderator who shared sends ``share confirm`` within 10 minutes.
    Kept meanwhile: ids and the kinds found, never the text."""
    kinds = findings([e.text for e in envelopes], call.room.language)
    if not kinds:
        return False
    pending = {"target": target.id, "circles": [c.id for c in circles], "kinds": kinds}
    async with call.redis.pipeline(transaction=True) as pipe:
        pipe.set(keys.pending_share(call.room.id, call.who), json.dumps(pending), ex=CONFIRM_S)
        pipe.zadd(keys.LAPSE_DUE, {f"{call.room.id}\t{call.who}": time.time() + CONFIRM_S})
        await pipe.execute()  # the timer says when it lapsed (bridge.commands.consent)
    word = call.router.command_prefix(call.room) + "share confirm"
    await call.say(_("Not shared yet: this thread contains {found}. Check it; to share it "
                     "anyway, send {command} within 10 minutes. Otherwise nothing crosses.",
                     found=Listing(tuple(KINDS[k] for k in kinds)), command=word))  # fmt: skip
    await call.audit("share", "paused", message=target.id,
                     detail=f"privacy check: {','.join(kinds)}")  # fmt: skip
    return True


async def _confirm(call: Call) -> None:
    """``share confirm``: the share this moderator's privacy check paused here, carried now."""
    raw = await call.redis.getdel(keys.pending_share(call.room.id, call.who))
    await call.redis.zrem(keys.LAPSE_DUE, f"{call.room.id}\t{call.who}")
    if not raw:
        await call.say(_("Nothing to confirm: no share of yours is waiting here. A share the "
                         "privacy check paused lapses after 10 minutes."))  # fmt: skip
        await call.audit("share", "refused", detail="confirm: nothing waiting")
        return
    pending = json.loads(raw)
    named = set(pending["circles"])
    circles = [c for c in call.router.circles_of_room(call.room.id) if c.id in named]
    await _share(call, MsgRef(room=call.room.id, id=pending["target"]), circles, confirmed=True)


async def _share(
    call: Call, target: MsgRef, circles: list[CircleConfig], *, confirmed: bool = False
) -> None:
    router, moderation = call.router, call.moderation
    origin, root = await router.maps.canonical(target.room, target.id)
    root = root or origin
    if await _not_ours(call, "share", root):
        return
    remembered = await moderation.recent.thread_so_far(root)
    older = _quoted(call, target, origin, remembered)
    thread = ([older] if older else []) + remembered
    if not confirmed and await _paused(call, target, circles, thread):
        if older is not None:  # kept where bodies wait anyway, so that the confirm finds it
            await moderation.recent.remember(older, call.room, root)
        return
    waiting = [c for c in circles if c.consent_minutes > 0]
    if waiting:  # its authors may answer no first
        from bridge.commands import consent  # here: its `no` comes after these in the help

        if older is not None:
            await moderation.recent.remember(older, call.room, root)
        await consent.ask(call, root, waiting, thread)
        circles = [c for c in circles if c.consent_minutes == 0]
        if not circles:
            return
    for circle in circles:
        await moderation.state.share(circle.id, root)
    carried = 0
    for envelope in thread:
        room = router.room_of(envelope)
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
    hours = call.config.retention.recent_hours
    if not reached:
        text = _("Shared, but this circle reaches no other room.")
    elif older is not None:
        text = ngettext(
            "Shared with {rooms}. Messages older than {n} hour are not kept: the message "
            "replied to and what follows crossed, not the thread before it.",
            "Shared with {rooms}. Messages older than {n} hours are not kept: the message "
            "replied to and what follows crossed, not the thread before it.",
            hours, rooms=Listing(tuple(reached)),
        )  # fmt: skip
    elif carried == 0:
        text = ngettext(
            "Shared with {rooms}. The messages so far are older than {n} hour and are not "
            "kept, so they did not cross; replies from now on will.",
            "Shared with {rooms}. The messages so far are older than {n} hours and are not "
            "kept, so they did not cross; replies from now on will.",
            hours, rooms=Listing(tuple(reached)),
        )  # fmt: skip
    else:
        text = _("Shared with {rooms}.", rooms=Listing(tuple(reached)))
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


@command(
    "share",
    "moderator",
    _("{command} [circle] (as a reply)"),
    _("the thread so far crosses now, in order, and later replies follow"),
)
async def share(call: Call) -> None:
    if call.args.strip() == "confirm":  # a share the privacy check paused
        await _confirm(call)
        return
    word, _sep, rest = call.args.strip().partition(" ")
    if word in ("consented", "lapsed"):  # the share timer's own (bridge.commands.consent)
        from bridge.commands import consent

        if call.who == TIMER:
            await (consent.carry if word == "consented" else consent.lapse)(call, rest)
        return
    circles = _circles_named(call)
    if circles is None:
        await call.say(_("This room is in no circle named {circle}.", circle=call.args.split()[0]))
        return
    target = call.target()
    if target is None:
        word = call.router.command_prefix(call.room) + "share"
        await call.say(_("Reply to a message with {command} to share its thread.", command=word))
        return
    await _share(call, target, circles)


@on_event("reaction")
async def share_reaction(call: Call) -> None:
    """A moderator's reaction with a circle's ``share_reaction`` shares in those circles. Among
    several she shows (Telegram Premium: each update lists them all), the share reaction
    shares where the thread is not shared yet, and says nothing where it is: adding another
    reaction beside it must not share again."""
    envelope = call.envelope
    if not envelope.reaction or not call.moderator:
        return
    shown = {plain_emoji(e) for e in envelope.shown}
    circles = [
        c
        for c in call.router.circles_of_room(call.room.id)
        if plain_emoji(c.share_reaction) in shown
    ]
    if not circles:
        return
    target = MsgRef(room=call.room.id, id=envelope.message_id)
    origin, root = await call.router.maps.canonical(target.room, target.id)
    thread = str(root or origin)
    circles = [c for c in circles if not await call.moderation.state.shared(c.id, thread)]
    if circles:
        await _share(call, target, circles)


@command(
    "unshare",
    "moderator",
    _("{command} (as a reply)"),
    _("later replies in the thread stop crossing"),
)
async def unshare(call: Call) -> None:
    circles = _circles_named(call)
    found = await _thread_of(call)
    if found is None or circles is None:
        return
    root = found[1]
    if await _not_ours(call, "unshare", root):
        return
    for circle in circles:
        await call.moderation.state.unshare(circle.id, root)
    await call.say(_("Later replies in this thread will not cross. Copies already sent stay."))
    await call.audit("unshare", "done", message=call.envelope.reply_to or "", detail=f"root {root}")


@command(
    "retract",
    "anyone",
    _("{command} (as a reply)"),
    _("every copy is deleted and its text purged (the author, or a moderator)"),
)
async def retract(call: Call) -> None:
    found = await _thread_of(call)
    if found is None:
        return
    origin = found[0]
    redis = call.redis
    record = await call.router.maps.record(origin)
    author = record.get(".sender") == call.who
    if not author and not (call.moderator and origin.room == call.room.id):
        await call.say(
            _("Only the author, or a moderator of the room it came from, can retract it. "
              "Nothing was changed.")
        )  # fmt: skip
        await call.audit(
            "retract", "refused", message=call.envelope.reply_to or "", detail=f"origin {origin}"
        )
        return
    found_in = {r: call.router.rooms.get(r) for r in record if not r.startswith(".")}
    links = LinkStore(redis, time.time)
    for room_id, known in found_in.items():  # a room unlinked since: its copies go too
        found_in[room_id] = known or await links.retired(room_id)
    where = {r: room for r, room in found_in.items() if room is not None}
    rooms = list(where)
    for room_id, target in where.items():
        call.deliveries.append(
            Delivery.to(
                target,
                # each retract's own deletes: a copy made again after an earlier retract
                # (a re-share) is deleted too, not skipped as already done
                key=f"retract:{call.envelope.key}:{origin}>{room_id}",
                action="delete",
                origin=origin,
                language=target.language,  # "[retracted]" in it
            )
        )
    purged = await purge_text(call.config, redis, origin)
    labels = tuple(target.label for target in where.values())
    if labels:
        text = _("Retracted: the copies in {rooms} are being deleted, and the bridge no longer "
                 "holds its text. The original here stays until you delete it.",
                 rooms=Listing(labels))  # fmt: skip
    else:
        text = _("Retracted: it had no copies in other rooms, and the bridge no longer holds "
                 "its text. The original here stays until you delete it.")  # fmt: skip
    await call.say(text)
    detail = f"origin {origin}; copies in {len(rooms)} rooms; {purged} purged"
    await call.audit("retract", "done", message=call.envelope.reply_to or "", detail=detail)


@command(
    "hide",
    "moderator",
    _("{command} (as a reply to a copy)"),
    _("removes that copy here, and the thread stops reaching this room"),
)
async def hide(call: Call) -> None:
    found = await _thread_of(call)
    if found is None:
        return
    origin, root = found
    if origin.room == call.room.id:
        word = call.router.command_prefix(call.room) + "hide"
        await call.say(_("{command} works on copies of messages from other rooms.", command=word))
        return
    await call.moderation.state.hide(call.room.id, root)
    room = call.room
    call.deliveries.append(
        Delivery.to(room, key=f"hide:{origin}>{room.id}", action="delete", origin=origin)
    )
    await call.say(
        _("Hidden: that copy is removed here, and this thread no longer reaches this room.")
    )
    await call.audit("hide", "done", message=call.envelope.reply_to or "", detail=f"root {root}")
