"""``fix``: members correct a translation here, and the circle learns it.

- ``fix <corrected text>``, as a reply to a copy in this room (anyone): proposes that text as
  the copy's translation into this room's language. A moderator's own fix, or any fix in a
  circle with ``fixes: open``, is accepted at once; otherwise it waits (seven days) for a
  moderator of this room: ``fix accept`` as a reply to the copy, to the ``fix`` message or to
  the proposal notice (where the platform quotes it), or ``fix accept ID``.
- Accepted: the copy is edited in place (the normal edit delivery, attributed as before, with
  a "corrected" mark in the room's language), and each circle linking the two rooms learns
  it: the same source text into this language is answered from its memory from then on.
- ``fix term <source> = <target>`` (moderators): a term of the circles' glossaries, forced in
  this room's language.

Refused, with the reason in the room's language, audited (ids only), nothing changed: no
reply, a reply to something other than a copy of a member's message from another room (the
bridge's notices, call-outs, this room's own messages), a copy whose original the bridge no
longer holds, a text over ten times the copy's length, another member's ``fix accept``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import cast

from pydantic import ValidationError

from bridge.commands.registry import Call, command
from bridge.config.models import CircleConfig
from bridge.model import keys
from bridge.model.envelope import Delivery, Envelope, MsgRef, Sender
from bridge.model.i18n import Language, Listing, Param, _
from bridge.relay.attribution import attribution
from bridge.relay.notices import localize
from bridge.relay.translate import circle_memory
from translation.memory import MAX_TERM, Recorded, Segment, Term, TranslationMemory

PROPOSAL_TTL_S = 7 * 86400
MAX_RATIO = 10  # a fix may be at most ten times the copy's length
_PROPOSAL_ID = re.compile(r"#([0-9a-f]{6})\b")


@command(
    "fix",
    "anyone",
    _(
        "{command} <corrected text> (as a reply to a copy), {command} accept, "
        "{command} term <source> = <target>"
    ),
    _("correct a copy's translation here; moderators accept it, or add a term"),
)
async def fix(call: Call) -> None:
    word, _sep, rest = call.args.strip().partition(" ")
    if word == "accept":
        await _accept(call, rest.strip())
    elif word == "term":
        await _term(call, rest.strip())
    else:
        await _propose(call, call.args.strip())


def _word(call: Call, *more: str) -> str:
    return " ".join([call.router.command_prefix(call.room) + "fix", *more])


async def _refuse(call: Call, text: Param, why: str) -> None:
    await call.say(text)
    await call.audit("fix", "refused", message=call.envelope.reply_to or "", detail=why)


def _circles(call: Call, origin_room: str) -> list[CircleConfig]:
    """The circles that link the copy's origin room with this room."""
    return [c for c in call.router.circles_of_room(origin_room) if call.room.id in c.rooms]


async def _copy(call: Call) -> tuple[MsgRef, Recorded] | None:
    """The copy replied to: its origin and what the origin was translated to; else refused."""
    if call.target() is None:
        await _refuse(
            call,
            _("Reply to a copy with {command} and the corrected text.", command=_word(call)),
            "no reply",
        )
        return None
    origin, _root = await call.router.maps.canonical(call.room.id, call.envelope.reply_to or "")
    if origin.room == call.room.id or origin.room not in call.router.rooms:
        text = _(
            "{command} corrects copies of members' messages from other rooms, not this "
            "room's own messages, the bridge's notices or call-outs. Nothing was changed.",
            command=_word(call),
        )
        await _refuse(call, text, "not a copy")
        return None
    record = await _memory(call).record_of(str(origin))
    if record is None or record.source == call.room.language or not _circles(call, origin.room):
        await _refuse(
            call,
            _(
                "The bridge no longer holds the original of this copy, or it was "
                "not translated: it cannot be corrected. Nothing was changed."
            ),
            f"no record of {origin}",
        )
        return None
    return origin, record


def _memory(call: Call) -> TranslationMemory:
    return circle_memory(call.config, call.redis)


async def _propose(call: Call, text: str) -> None:
    found = await _copy(call)
    if found is None:
        return
    origin, record = found
    copy = record.copies.get(call.room.language, record.text)
    if not text:
        await _refuse(
            call,
            _("Reply to a copy with {command} and the corrected text.", command=_word(call)),
            "empty",
        )
        return
    if len(text) > MAX_RATIO * max(len(copy), 1):
        await _refuse(
            call,
            _(
                "That correction is more than ten times as long as the copy: it "
                "is not a correction of it. Nothing was changed."
            ),
            f"too long: {len(text)} for {len(copy)}",
        )
        return
    proposal = {
        "id": uuid.uuid4().hex[:6],
        "origin": str(origin),
        "copy": call.envelope.reply_to or "",
        "text": text,
        "by": call.who,
    }
    if call.moderator or any(c.fixes == "open" for c in _circles(call, origin.room)):
        await _apply(call, origin, record, proposal)
        return
    raw = json.dumps(proposal, ensure_ascii=False)
    pid = proposal["id"]
    memory = _memory(call)
    async with call.redis.pipeline(transaction=True) as pipe:
        pipe.set(keys.fix_proposal(pid), raw, ex=PROPOSAL_TTL_S)
        for message_id in (call.envelope.reply_to or "", call.envelope.message_id):
            pipe.set(keys.fix_index(call.room.id, message_id), pid, ex=PROPOSAL_TTL_S)
        pipe.sadd(memory.tag_key(str(origin)), keys.fix_proposal(pid))  # a retract purges it
        await pipe.execute()
    await call.say(
        _(
            "Correction #{id} proposed. A moderator of this room can accept it: "
            "{command} as a reply to the copy, or {command} {id}.",
            id=pid,
            command=_word(call, "accept"),
        )
    )
    await call.audit(
        "fix", "proposed", message=call.envelope.reply_to or "", detail=f"#{pid} of {origin}"
    )


async def _proposal_of(call: Call, given: str) -> dict[str, str] | None:
    """The proposal ``fix accept`` names: by id, else by the message it replies to (the copy,
    the ``fix`` message, or the notice whose quoted text names the id)."""
    pid = given.lstrip("#")
    if not pid and call.envelope.reply_to:
        found = await call.redis.get(keys.fix_index(call.room.id, call.envelope.reply_to))
        pid = str(found) if found is not None else ""
    quoted = call.envelope.quoted
    if not pid and quoted is not None and (match := _PROPOSAL_ID.search(quoted.text or "")):
        pid = match.group(1)
    if not re.fullmatch(r"[0-9a-f]{6}", pid):
        return None
    raw = cast(str | None, await call.redis.get(keys.fix_proposal(pid)))
    proposal = cast(dict[str, str], json.loads(raw)) if raw else None
    if (
        proposal is None
        or await call.redis.get(keys.fix_index(call.room.id, proposal["copy"])) != pid
    ):
        return None  # unknown, expired, or a proposal of another room
    return proposal


async def _accept(call: Call, given: str) -> None:
    if not call.moderator:
        await _refuse(
            call,
            _(
                "Only moderators of this room can use {command}. Nothing was changed.",
                command=_word(call, "accept"),
            ),
            "needs moderator",
        )
        return
    proposal = await _proposal_of(call, given)
    if proposal is None:
        await _refuse(
            call,
            _(
                "No correction is waiting there: reply to the copy, or give the "
                "correction's number. Nothing was changed."
            ),
            "no proposal",
        )
        return
    origin = MsgRef(
        room=proposal["origin"].partition("/")[0], id=proposal["origin"].partition("/")[2]
    )
    record = await _memory(call).record_of(str(origin))
    if record is None or origin.room not in call.router.rooms:
        await _refuse(
            call,
            _(
                "The bridge no longer holds the original of this copy, or it was "
                "not translated: it cannot be corrected. Nothing was changed."
            ),
            f"no record of {origin}",
        )
        return
    await _apply(call, origin, record, proposal)


async def _apply(call: Call, origin: MsgRef, record: Recorded, proposal: dict[str, str]) -> None:
    """Edit the copy in place, marked, and teach each circle linking the two rooms."""
    room, text = call.room, proposal["text"]
    circles = _circles(call, origin.room)
    memory = _memory(call)
    for circle in circles:
        await memory.learn(
            circle.id, Segment(record.source, room.language, record.text, text), tag=str(origin)
        )
    mark = _("✎ corrected by a member of {room}", room=room.label)
    shown = await localize(mark, room.language, call.router.translator)
    call.deliveries.append(
        Delivery.to(
            room,
            key=f"fix:{proposal['id']}>{room.id}",
            action="edit",
            origin=origin,
            attribution=await _credit(call, origin, circles[0]),
            text=f"{text}\n{shown}",
            language=room.language,
            source_language=record.source,
            translated=True,
        )
    )
    await call.redis.delete(keys.fix_proposal(proposal["id"]))
    await call.say(
        _(
            "Corrected. From now on, {circles} translates this text into {language} as corrected.",
            circles=Listing(tuple(c.id for c in circles)),
            language=Language(room.language),
        )
    )
    await call.audit(
        "fix",
        "accepted",
        message=proposal.get("copy", ""),
        detail=f"#{proposal['id']} of {origin} by {proposal['by']}",
    )


async def _credit(call: Call, origin: MsgRef, circle: CircleConfig) -> str:
    """The copy's attribution as it was made: the sender from the recent-messages buffer
    (their display name), else the name kept with what the message was translated to."""
    sender: Sender | None = None
    raw = cast(str | None, await call.redis.get(keys.recent(origin.room, origin.id)))
    if raw is not None:
        try:
            sender = Envelope.model_validate_json(raw).sender
        except ValidationError:
            sender = None
    if sender is None:  # the name kept with what the message was translated to
        found = (await call.router.maps.record(origin)).get(".sender")
        kept = await _memory(call).record_of(str(origin))
        sender = Sender(id=str(found or "unknown:unknown"), name=kept.name if kept else "")
    source = call.router.rooms[origin.room]
    platform = call.router.platform_of[source.bot]
    key = (
        call.config.pseudonym_key.get_secret_value().encode() if call.config.pseudonym_key else None
    )
    return attribution(circle, source, platform, sender, key)


async def _term(call: Call, rest: str) -> None:
    if not call.moderator:
        await _refuse(
            call,
            _(
                "Only moderators of this room can use {command}. Nothing was changed.",
                command=_word(call, "term"),
            ),
            "needs moderator",
        )
        return
    term, sep, translation = (part.strip() for part in rest.partition("="))
    circles = call.router.circles_of_room(call.room.id)
    if (
        not sep
        or not term
        or not translation
        or len(term) > MAX_TERM
        or len(translation) > MAX_TERM
        or "\n" in rest
        or not circles
    ):
        await _refuse(
            call,
            _(
                "Give the term as {command} <source> = <target>, each at most "
                "{most} characters on one line. Nothing was changed.",
                command=_word(call, "term"),
                most=MAX_TERM,
            ),
            "bad term",
        )
        return
    memory = _memory(call)
    for circle in circles:
        await memory.add_term(circle.id, Term(term, call.room.language, translation))
    await call.say(
        _(
            "In {circles}, {term} is now translated into {language} as {translation}.",
            term=term,
            translation=translation,
            language=Language(call.room.language),
            circles=Listing(tuple(c.id for c in circles)),
        )
    )
    await call.audit(
        "fix",
        "term",
        message=call.envelope.message_id,
        detail=f"circles {','.join(c.id for c in circles)}",
    )
