"""Growing a circle from chat: ``invite [circle]``, ``invite list``, ``invite revoke CODE``
and ``unlink`` (issue 18, docs/adding-a-city.md).

Only a moderator of a room in the circle may invite into it or see and revoke its codes: a
circle the room is not in is refused even if it exists, so that another circle's moderators
cannot grow it. The code is shown once, in the room that asked; ``invite list`` shows hints
only (``tl-7K…``), never a whole code, and so does the audit. ``unlink`` is for rooms linked
from chat: a config-file room is the operator's to remove. The room's message map entries
stay until they expire, so a retract of an earlier message still reaches its copies.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.commands.links import FORM, described, prefix_of, tell_circle
from bridge.commands.registry import Call, command
from bridge.config.linked import is_linked, merge
from bridge.config.models import CircleConfig
from bridge.infra.links import LinkStore, hint
from bridge.model.i18n import Lines, Listing, Param, When, _
from bridge.relay.notices import localize


def _store(call: Call) -> LinkStore:
    return LinkStore(call.redis, call.clock)


def _when(call: Call, at: float) -> When:
    return When(datetime.fromtimestamp(at, UTC), call.room.timezone)


async def _refuse(call: Call, text: Param, action: str, detail: str) -> None:
    await call.say(text)
    await call.audit(action, "refused", detail=detail)


async def _circle(call: Call, name: str, action: str) -> CircleConfig | None:
    """The circle ``name`` of this room (the only one when ``name`` is empty), else None
    after a refusal: a circle this room is not in is refused, whether it exists or not."""
    mine = call.router.circles_of_room(call.room.id)
    if not name and len(mine) == 1:
        return mine[0]
    found = next((c for c in mine if c.id == name), None)
    if found is not None:
        return found
    word = f"{call.router.command_prefix(call.room)}invite"
    ids = Listing(tuple(c.id for c in mine))
    if not mine:
        text: Param = _("This room is in no circle: nothing crosses.")
    elif not name:
        text = _("This room is in several circles: send {command} <circle>, one of {circles}.",
                 command=word, circles=ids)  # fmt: skip
    else:
        text = _("This room is not in a circle called {circle}: its moderators can invite only "
                 "into {circles}. Nothing was changed.", circle=name[:64], circles=ids)  # fmt: skip
    await _refuse(call, text, action, f"circle {name[:64]!r} is not this room's")
    return None


@command(
    "invite",
    "moderator",
    _("{command} [circle] | list | revoke CODE"),
    _("a one-time code another city's room links with (48 hours)"),
)
async def invite(call: Call) -> None:
    words = call.args.split()
    first = words[0].lower() if words else ""
    if first == "list":
        await invite_list(call)
        return
    if first == "revoke":
        await invite_revoke(call, words[1] if len(words) > 1 else "")
        return
    if not call.config.link.invites:
        await _refuse(call, _("This bridge does not link rooms from chat."), "invite", "off")
        return
    circle = await _circle(call, words[0] if words else "", "invite")
    if circle is None:
        return
    store = _store(call)
    code = await store.invite(circle.id, call.who, call.room.id, call.envelope.sender.name)
    if code is None:
        word = call.router.command_prefix(call.room) + "invite list"
        text = _("{circle} has too many open codes: revoke some first ({command}).",
                 circle=circle.id, command=word)  # fmt: skip
        await _refuse(call, text, "invite", f"circle {circle.id}: too many open codes")
        return
    expires = next(i.expires for i in await store.invites(circle.id) if i.hint == hint(code))
    parts: list[Param] = [
        _("Invite code for {circle}: {code}. It works once, until {when}.",
          circle=circle.id, code=code, when=_when(call, expires)),
        _("In the new room, an admin adds this network's bot to the chat (or invites it to "
          "the room), then sends the code:"),
    ]  # fmt: skip
    seen: set[str] = set()
    for bot in call.config.bots:
        if bot.platform in seen:
            continue
        seen.add(bot.platform)
        word = prefix_of(call.config, bot.id) + FORM.replace("CODE", code)
        parts.append(_("- {platform}: {command}", platform=bot.platform.capitalize(),
                       command=word))  # fmt: skip
    await call.say(Lines(tuple(parts)))
    await call.audit("invite", "done", detail=f"circle {circle.id}; code {hint(code)}")


async def invite_list(call: Call) -> None:
    """The open codes of this room's circles: hints, makers' names (never their ids: another
    city's moderators see the list), rooms, expiry; never a code."""
    store = _store(call)
    parts: list[Param] = []
    for circle in call.router.circles_of_room(call.room.id):
        for item in await store.invites(circle.id):
            room = call.router.rooms.get(item.room)
            parts.append(_("{code} for {circle}, made by {who} in {room}, until {when}",
                           code=item.hint, circle=circle.id, who=item.name or "?",
                           room=room.label if room else item.room,
                           when=_when(call, item.expires)))  # fmt: skip
    if not parts:
        await call.say(_("No open invite codes in this room's circles."))
    else:
        await call.say(Lines((_("Open invite codes:"), *parts)))
    await call.audit("invite list", "done")


async def invite_revoke(call: Call, code: str) -> None:
    """Withdraw an open code of one of this room's circles (another circle's is untouched)."""
    store = _store(call)
    for circle in call.router.circles_of_room(call.room.id):
        if code and await store.revoke(circle.id, code):
            await call.say(_("Code {code} is revoked: it links no room now.", code=hint(code)))
            await call.audit("invite revoke", "done",
                             detail=f"circle {circle.id}; code {hint(code)}")  # fmt: skip
            return
    await _refuse(call, _("No open code {code} in this room's circles. Nothing was changed.",
                          code=hint(code)), "invite revoke", f"code {hint(code)}")  # fmt: skip


@command("unlink", "moderator", _("{command}"), _("this linked room leaves its circle"))
async def unlink(call: Call) -> None:
    room, config = call.room, call.config
    if not is_linked(config, room.id):
        text = _("This room is in the config file: the operator removes it from the config. "
                 "Nothing was changed.")  # fmt: skip
        await _refuse(call, text, "unlink", "a config-file room")
        return
    circles = call.router.circles_of_room(room.id)
    store = _store(call)
    keep = config.retention.message_map_days * 86400  # a retract still reaches its copies
    if await store.unlink(room.id, keep) is None:  # another process unlinked it a moment ago
        await _refuse(call, _("This room is not linked. Nothing was changed."), "unlink", "gone")
        return
    merge(config, await store.rooms())  # this process at once; the others follow
    for circle in circles:
        text = _("{room} left {circle}.", room=described(config, room), circle=circle.id)
        for delivery in await tell_circle(config, call.redis, circle, room, "left", text):
            target = config.room(delivery.room)
            shown = await localize(text, target.language, call.router.translator)
            call.deliveries.append(delivery.model_copy(update={"text": shown}))
    names = Listing(tuple(c.id for c in circles))
    await call.say(_("This room left {circles}: nothing crosses into or out of it any more.",
                     circles=names))  # fmt: skip
    await call.audit("unlink", "done", detail="circles " + ",".join(c.id for c in circles))
