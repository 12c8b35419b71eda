"""Consent before a thread crosses (``circles[].consent_minutes``), and what happens when a
wait ends: a consented share carries, a share the privacy check paused lapses.

After a share in a circle with ``consent_minutes`` above 0, the thread does not cross at
once: the authors of its messages in the origin room are named in one notice there (no
private messages: the bridge never writes to a person first), and each may reply ``no`` to
that notice within the time to keep their own messages from crossing. When the time is up,
the thread crosses without them, and later replies follow as after any share.

The waits end by the clock, not by someone's message: ``bridge.commands.timer`` puts an
internal ``share consented <id>`` / ``share lapsed <who>`` command into the origin room's
inbox when one is due, and ``carry`` / ``lapse`` here act only for its sender (``TIMER``).
Records hold ids, circles and authors, no text.
"""

from __future__ import annotations

import hashlib
import json
import time

from bridge.commands.registry import Call, command
from bridge.commands.timer import TIMER
from bridge.config.models import CircleConfig
from bridge.model import keys
from bridge.model.envelope import Envelope, MsgRef
from bridge.model.i18n import Listing, _, ngettext
from bridge.relay.notices import localize, notice_in

CONSENT_PREFIX = "consent:"


def _reached(call: Call, circles: list[CircleConfig]) -> tuple[str, ...]:
    return tuple(sorted({call.router.rooms[r].label for c in circles for r in c.rooms
                         if r != call.room.id and call.router.rooms[r].receive}))  # fmt: skip


async def ask(
    call: Call, root: MsgRef, circles: list[CircleConfig], thread: list[Envelope]
) -> None:
    """Hold the share in ``circles`` for their consent time; name the authors in one notice."""
    minutes = max(c.consent_minutes for c in circles)
    authors: dict[str, str] = {}
    for envelope in thread:
        if call.router.room_of(envelope) == call.room and not envelope.sender.is_bot:
            authors.setdefault(envelope.sender.id, envelope.sender.name)
    consent_id = hashlib.sha256(call.envelope.key.encode()).hexdigest()[:20]
    due = time.time() + minutes * 60
    record = {"room": call.room.id, "root": str(root), "circles": [c.id for c in circles],
              "authors": sorted(authors), "who": call.who, "due": due}  # fmt: skip
    async with call.redis.pipeline(transaction=True) as pipe:
        pipe.set(keys.consent(consent_id), json.dumps(record), ex=minutes * 60 + 86400)
        pipe.zadd(keys.CONSENT_DUE, {consent_id: due})
        await pipe.execute()
    word = call.router.command_prefix(call.room) + "no"
    text = ngettext(
        "{authors}: a moderator is sharing this thread with {rooms}. It crosses in {n} minute. "
        "If you do not want your own messages in it to cross, reply {command} to this notice.",
        "{authors}: a moderator is sharing this thread with {rooms}. It crosses in {n} minutes. "
        "If you do not want your own messages in it to cross, reply {command} to this notice.",
        minutes, authors=Listing(tuple(authors.values())),
        rooms=Listing(_reached(call, circles)), command=word,
    )  # fmt: skip
    shown = await localize(text, call.room.language, call.router.translator)
    notice = notice_in(call.room, shown, key=f"consent:{consent_id}")
    # a reply to it finds the record (the deliverer maps a notice's ids to its origin)
    call.deliveries.append(notice.model_copy(
        update={"origin": MsgRef(room=call.room.id, id=CONSENT_PREFIX + consent_id)}))  # fmt: skip
    await call.audit("share", "waiting", message=root.id,
                     detail=f"consent {minutes} min; {len(authors)} authors")  # fmt: skip


@command(
    "no",
    "anyone",
    _("{command} (as a reply to a consent notice)"),
    _("keeps my messages in a shared thread from crossing"),
)
async def refuse(call: Call) -> None:
    target = call.target()
    consent_id = ""
    if target is not None:
        origin, _root = await call.router.maps.canonical(target.room, target.id)
        if origin.room == call.room.id and origin.id.startswith(CONSENT_PREFIX):
            consent_id = origin.id[len(CONSENT_PREFIX) :]
    raw = await call.redis.get(keys.consent(consent_id)) if consent_id else None
    word = call.router.command_prefix(call.room) + "no"
    if not raw:
        await call.say(_("Reply {command} to the consent notice of a shared thread, before it "
                         "crosses. Nothing was changed.", command=word))  # fmt: skip
        await call.audit("no", "refused", message=call.envelope.reply_to or "",
                         detail="not a waiting consent notice")  # fmt: skip
        return
    if call.who not in json.loads(raw)["authors"]:
        await call.say(_("Only the authors of messages in that thread can answer {command} to "
                         "it. Nothing was changed.", command=word))  # fmt: skip
        await call.audit("no", "refused", detail=f"consent {consent_id}: not an author")
        return
    await call.redis.sadd(keys.consent_refusals(consent_id), call.who)
    await call.say(_("Your messages in this thread will not cross."))
    await call.audit("no", "done", detail=f"consent {consent_id}")


async def carry(call: Call, consent_id: str) -> None:
    """``share consented <id>`` from the timer: the thread crosses, without the refusers."""
    raw = await call.redis.getdel(keys.consent(consent_id))
    if call.who != TIMER or not raw:
        return
    record = json.loads(raw)
    refused = {str(r) for r in await call.redis.smembers(keys.consent_refusals(consent_id))}
    await call.redis.delete(keys.consent_refusals(consent_id))
    room, _sep, root_id = str(record["root"]).partition("/")
    root = MsgRef(room=room, id=root_id)
    named = set(record["circles"])
    circles = [c for c in call.router.circles_of_room(call.room.id) if c.id in named]
    if refused:  # their later replies in it stay home too
        await call.moderation.state.refuse(root, refused)
    for circle in circles:
        await call.moderation.state.share(circle.id, root)
    for envelope in await call.moderation.recent.thread_so_far(root):
        where = call.router.room_of(envelope)
        if where is None or envelope.sender.id in refused:
            continue
        call.deliveries.extend(await call.router.replan(envelope, where))
    labels = _reached(call, circles)
    text = _("Shared with {rooms}.", rooms=Listing(labels)) if labels else _(
        "Shared, but this circle reaches no other room.")  # fmt: skip
    shown = await localize(text, call.room.language, call.router.translator)
    call.deliveries.append(notice_in(call.room, shown, key=f"consented:{consent_id}"))
    await call.audit("share", "done", message=root.id,
                     detail=f"consent {consent_id}; {len(refused)} said no")  # fmt: skip


async def lapse(call: Call, who: str) -> None:
    """``share lapsed <who>`` from the timer: a share the privacy check paused is dropped."""
    if call.who != TIMER or not await call.redis.getdel(keys.pending_share(call.room.id, who)):
        return
    text = _("The share the privacy check paused was not confirmed within 10 minutes: nothing "
             "crossed.")  # fmt: skip
    shown = await localize(text, call.room.language, call.router.translator)
    call.deliveries.append(notice_in(call.room, shown, key=f"lapsed:{call.envelope.key}"))
    await call.audit("share", "lapsed", detail=f"paused share of {who}")
