"""Call-outs from chat (``callout add|list|cancel|preview``, organizers only); the shell's
are in ``bridge.callouts.shell``.

    callout add <YYYY-MM-DD HH:MM | cron "m h dom mon dow"> [local|instant] [rsvp] <circle> | <text>

The text is in the room's language. ``local`` (the default) fires at that wall time in each
room's timezone; ``instant`` fires once everywhere, the time read in this room's timezone.
Bad input is refused with a one-line reason in the room's language and nothing is stored.

A handler may run twice for one envelope: the call-out's id is derived from the envelope key
and stored with HSETNX, and the answer's delivery key is fixed, so a second run changes
nothing and answers nothing new.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from bridge.callouts.clock import shared_now
from bridge.callouts.model import (
    Callout,
    CalloutRefused,
    Mode,
    Request,
    new_callout,
    targets,
    upcoming,
)
from bridge.callouts.store import CalloutStore, short_id
from bridge.callouts.text import preview, summary
from bridge.commands.registry import Call, command
from bridge.config.models import Config, RoomConfig
from bridge.model.i18n import Lines, Message, Param, When, _, ngettext
from bridge.relay.notices import localize, notice_in

USAGE = (
    'callout add <YYYY-MM-DD HH:MM | cron "m h dom mon dow"> [local|instant] [rsvp] <circle> '
    "| <text>"
    "; callout list; callout cancel ID; callout preview ID"
)
_QUOTES = "\"'\u201c\u201d\u2018\u2019"  # straight and typographic: phones retype quotes
_CRON = re.compile(rf"^cron\s+[{_QUOTES}](.+?)[{_QUOTES}]\s*(.*)$", re.IGNORECASE | re.DOTALL)


def parse_add(args: str, config: Config, room: RoomConfig) -> Request:
    """The chat grammar of ``callout add`` (after the word ``add``), written in ``room``: the
    text in its language, a time in its timezone, the reports back to it."""
    head, sep, text = args.partition("|")
    if not sep or not text.strip():
        raise CalloutRefused(_("write the text after a |: {usage}", usage=USAGE.split(";")[0]))
    head = head.strip()
    at = cron = None
    found = _CRON.match(head)
    if found:
        cron, tail = found.group(1).strip(), found.group(2)
    elif head.lower().startswith("cron"):
        raise CalloutRefused(_("write the cron in quotes: {example}",
                                 example='cron "m h dom mon dow"'))  # fmt: skip
    else:
        parts = head.split()
        if len(parts) < 2:
            raise CalloutRefused(_("give a date and time {format} or a cron",
                                   format='"YYYY-MM-DD HH:MM"'))  # fmt: skip
        at, tail = f"{parts[0]} {parts[1]}", " ".join(parts[2:])
    words = tail.replace(",", " ").split()
    mode: Mode = "local"
    if words and words[0].lower() in ("local", "instant"):
        mode = "instant" if words.pop(0).lower() == "instant" else "local"
    rsvp = bool(words) and words[0].lower() == "rsvp"  # members answer; the report counts
    if rsvp:
        words.pop(0)
    if not words:
        raise CalloutRefused(_("name the circle it goes to, before the |"))
    circles = {c.id for c in config.circles}
    rooms = {r.id for r in config.rooms}
    for word in words:
        if word not in circles and word not in rooms:
            raise CalloutRefused(_("{circle} is not a circle of this network", circle=repr(word)))
    return Request(
        circles=tuple(w for w in words if w in circles),
        rooms=tuple(w for w in words if w not in circles),
        at=at, cron=cron, mode=mode, tz=room.timezone, language=room.language,
        text=text.strip(), report_to=room.id, rsvp=rsvp,
    )  # fmt: skip


def first_fire_text(callout: Callout, config: Config, now: datetime, tz: str) -> Message:
    """How many rooms, and the first fire in ``tz`` (the organizer's room's timezone)."""
    fires = [f for _room, f in upcoming(callout, config, now) if f is not None]
    rooms = len(targets(callout, config))
    if fires:
        return ngettext("{n} room, first {when}", "{n} rooms, first {when}", rooms,
                        when=When(min(fires), tz))  # fmt: skip
    return ngettext("{n} room", "{n} rooms", rooms)


# ---- chat ----------------------------------------------------------------------------------


async def _answer(call: Call, text: Param) -> None:
    """A marked text in the room's language (ids and times are placeholders, kept)."""
    shown = await localize(text, call.room.language, call.router.translator)
    key = f"answer:{call.envelope.key}:callout"
    call.deliveries.append(notice_in(call.room, shown, key=key, reply_to=call.envelope.message_id))


@command(
    "callout",
    "organizer",
    _("{command} add|list|cancel|preview (see {command} with no words)"),
    _("schedule call-outs to circles: add, list, cancel, preview"),
)
async def callout_command(call: Call) -> None:
    verb, _sep, rest = call.args.strip().partition(" ")
    verb = verb.lower()
    try:
        await _run(call, CalloutStore(call.redis), verb, rest.strip())
    except CalloutRefused as exc:
        await _answer(call, _("Not done: {reason}.", reason=exc.reason))
        await call.audit(f"callout {verb}".strip(), "refused", detail=str(exc)[:200])


async def _run(call: Call, store: CalloutStore, verb: str, rest: str) -> None:
    if verb == "add":
        await _add(call, store, rest)
    elif verb == "list":
        await _list(call, store)
    elif verb in ("cancel", "preview"):
        found = await _find(store, rest.lower())
        if verb == "cancel":
            await _cancel(call, store, found)
        else:
            now = await shared_now(call.redis)
            lines = await preview(call.router.translator, found, call.config, now)
            await _answer(call, Lines((_("What each room will get, and when:"), *lines)))
    else:
        raise CalloutRefused(_("use it as: {usage}", usage=USAGE))


async def _find(store: CalloutStore, callout_id: str) -> Callout:
    found = await store.get(callout_id) if callout_id else None
    if found is None:
        raise CalloutRefused(_("there is no call-out {id}", id=repr(callout_id)))
    return found


async def _add(call: Call, store: CalloutStore, args: str) -> None:
    request = parse_add(args, call.config, call.room)
    now = await shared_now(call.redis)
    seed = hashlib.sha256(call.envelope.key.encode()).digest()
    for attempt in range(4):
        callout = new_callout(request, call.config, now,
                              callout_id=short_id(seed[attempt * 6 :]), source="chat",
                              author=call.who, reply_to=call.envelope.message_id,
                              origin_key=call.envelope.key)  # fmt: skip
        if await store.add(callout):
            break
        existing = await store.get(callout.id)
        if existing is not None and existing.origin_key == call.envelope.key:
            callout = existing  # this command ran before: the same call-out, the same answer
            break
    else:
        raise CalloutRefused(_("no free id; try again"))
    first = first_fire_text(callout, call.config, now, call.room.timezone)
    await _answer(call, _("Call-out {id} is scheduled: {first}. The report comes here.",
                          id=callout.id, first=first))  # fmt: skip
    await call.audit("callout add", "done", detail=callout.id)


async def _list(call: Call, store: CalloutStore) -> None:
    now = await shared_now(call.redis)
    lines = [summary(c, call.config, now) for c in (await store.all()).values()]
    if not lines:
        await _answer(call, _("No call-outs are scheduled."))
    else:
        await _answer(call, Lines((_("Call-outs:"), *lines)))


async def _cancel(call: Call, store: CalloutStore, found: Callout) -> None:
    if found.source == "config":
        raise CalloutRefused(
            _("{id} comes from the config file; remove it there", id=repr(found.id))
        )
    await store.remove(found.id)
    await _answer(call, _("Call-out {id} is cancelled.", id=found.id))
    await call.audit("callout cancel", "done", detail=found.id)
