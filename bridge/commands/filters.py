"""Word filters at run time: ``filter add|remove|list WORD``, and ``release`` / ``drop`` as
replies to a held notice (``bridge.moderation.filters`` holds the copies).

Only moderators of the room the filter is for: a room's filters hold what comes into it.
A term that is ``/a regular expression/`` and does not compile is refused with the position
of the error; nothing is stored. Terms added here live in Redis (``keys.FILTERS``) and in
every process's mirror within ``MIRROR_CHECK_S``; terms from ``rooms[].filter`` are the
operator's and are removed in the config file. ``release`` with a room label is quarantine's
(``bridge.commands.quarantine``). Every change and refusal is audited.
"""

from __future__ import annotations

from bridge.commands.quarantine import release_room
from bridge.commands.registry import Call, command
from bridge.model import keys
from bridge.model.i18n import Listing, _
from bridge.model.settings import MAX_FILTERS
from bridge.moderation.filters import HELD_PREFIX, TermError, compile_term


@command(
    "filter",
    "moderator",
    _("{command} add|remove|list WORD"),
    _("word filters: matching copies coming into this room are held for moderators"),
)
async def filter_words(call: Call) -> None:
    action, _sep, term = call.args.strip().partition(" ")
    term = term.strip()
    room = call.room
    filters, state = call.moderation.filters, call.moderation.state
    await state.fresh()
    word = call.router.command_prefix(room) + "filter"
    if action == "list" and not term:
        terms = filters.terms(room.id)
        if terms:
            await call.say(_("Word filters here: {terms}.", terms=Listing(tuple(terms))))
        else:
            await call.say(_("This room has no word filters."))
        return
    if action not in ("add", "remove") or not term:
        await call.say(_("Use {command} add WORD, {command} remove WORD or {command} list.",
                         command=word))  # fmt: skip
        await call.audit("filter", "refused", detail="usage")
        return
    if action == "add":
        if len(filters.terms(room.id)) >= MAX_FILTERS:  # each is tried on every copy
            text = _("This room has {limit} word filters, the most it may have: remove one "
                     "first. Nothing was changed.", limit=MAX_FILTERS)  # fmt: skip
            await call.say(text)
            await call.audit("filter", "refused", detail="too many")
            return
        try:
            compile_term(term)
        except TermError as exc:
            if exc.position >= 0:
                text = _("{term} is not a regular expression that works: {error} at position "
                         "{position}. Nothing was changed.",
                         term=term, error=str(exc), position=exc.position)  # fmt: skip
            else:
                text = _("{term} cannot be a filter: {error}. Nothing was changed.",
                         term=term[:40], error=str(exc))  # fmt: skip
            await call.say(text)
            await call.audit("filter", "refused", detail=f"does not compile at {exc.position}")
            return
        await state.change_set(keys.FILTERS, f"{room.id}\t{term}", True)
        await call.say(_("Filter added: copies containing {term} will be held here for "
                         "moderators.", term=term))  # fmt: skip
        await call.audit("filter", "done", detail="add")
        return
    if term in filters.configured.get(room.id, []):
        await call.say(_("{term} is set in the configuration file: the operator removes it "
                         "there. Nothing was changed.", term=term))  # fmt: skip
        await call.audit("filter", "refused", detail="remove: from the config")
        return
    if await state.change_set(keys.FILTERS, f"{room.id}\t{term}", False):
        await call.say(_("Filter removed: {term}.", term=term))
        await call.audit("filter", "done", detail="remove")
    else:
        await call.say(_("This room has no filter {term}. Nothing was changed.", term=term))
        await call.audit("filter", "refused", detail="remove: no such filter")


async def _hold_of(call: Call, action: str) -> str | None:
    """The hold a command replies to (a held notice of this room), else refuse and audit."""
    target = call.target()
    if target is not None:
        origin, _root = await call.router.maps.canonical(target.room, target.id)
        if origin.room == call.room.id and origin.id.startswith(HELD_PREFIX):
            return origin.id[len(HELD_PREFIX) :]
    word = call.router.command_prefix(call.room) + action
    await call.say(_("Reply to a held-message notice of this room with {command}. Nothing was "
                     "changed.", command=word))  # fmt: skip
    await call.audit(action, "refused", message=call.envelope.reply_to or "",
                     detail="not a held notice")  # fmt: skip
    return None


@command(
    "release",
    "moderator",
    _("{command} (as a reply to a held notice), or {command} <room label>"),
    _("lets a held copy through; with a room label, ends a quarantine"),
)
async def release(call: Call) -> None:
    if call.args.strip():
        await release_room(call)
        return
    hold = await _hold_of(call, "release")
    if hold is None:
        return
    delivery = await call.moderation.holds.take(hold)
    if delivery is None:
        await call.say(_("That message was already released or dropped, or it expired."))
        return
    call.deliveries.append(delivery)
    await call.say(_("Released: the held message is being delivered here."))
    await call.audit("release", "done", message=call.envelope.reply_to or "",
                     detail=f"held copy of {delivery.origin}")  # fmt: skip


@command(
    "drop",
    "moderator",
    _("{command} (as a reply to a held notice)"),
    _("discards a held copy"),
)
async def drop(call: Call) -> None:
    hold = await _hold_of(call, "drop")
    if hold is None:
        return
    delivery = await call.moderation.holds.take(hold)
    if delivery is None:
        await call.say(_("That message was already released or dropped, or it expired."))
        return
    await call.say(_("Dropped: the held message will not be delivered here."))
    await call.audit("drop", "done", message=call.envelope.reply_to or "",
                     detail=f"held copy of {delivery.origin}")  # fmt: skip
