"""Commands on rooms and people: pause, resume, circle, optout, optin, help; and the welcome
the bot posts once when it joins a configured room.
"""

from __future__ import annotations

from bridge.commands.registry import Call, RouterView, Spec, command, listed, on_event
from bridge.config.models import CircleConfig, RoomConfig
from bridge.model import keys
from bridge.model.i18n import Language, Lines, Listing, Message, Param, _, has_catalog, ngettext


def _rule(circle: CircleConfig) -> Message:
    if circle.relay == "all":
        return _("Here, everything crosses, unless a moderator holds a thread back.")
    if circle.relay == "moderated":
        return _("Here, a thread crosses when a moderator shares it.")
    tags = " ".join(f"#{t}" for t in circle.tags)
    return _("Here, a message crosses with its thread when it carries one of the tags {tags}.",
             tags=tags)  # fmt: skip


def circle_line(router: RouterView, circle: CircleConfig, here: RoomConfig) -> Message:
    """A circle in words, as seen from ``here``: the other rooms and the rule."""
    others = tuple(
        _("{room} ({language}, {platform})", room=r.label, language=Language(r.language),
          platform=router.platform_of[r.bot].capitalize())
        for r in (router.rooms[i] for i in circle.rooms if i != here.id)
    )  # fmt: skip
    return _("{circle}: {rooms}. {rule}", circle=circle.id, rooms=Listing(others),
             rule=_rule(circle))  # fmt: skip


@on_event("joined")
async def welcome(call: Call) -> None:
    """The bot was added to a configured room: say once what the room is linked with."""
    room, router = call.room, call.router
    if not await call.redis.set(keys.notified(f"joined:{room.id}"), 1, nx=True):
        return
    parts: list[Param] = [_("Translocal links this room with other cities' rooms:")]
    for circle in router.circles_of_room(room.id):
        parts.append(_("- {circle}", circle=circle_line(router, circle, room)))
    word = f"{router.command_prefix(room)}help"
    parts.append(_("Send {command} for the commands.", command=word))
    await call.say(Lines(tuple(parts)))


@command("pause", "moderator", _("{command}"), _("stop all crossing into and out of this room"))
async def pause(call: Call) -> None:
    await call.moderation.state.pause(call.room.id, True)
    word = f"{call.router.command_prefix(call.room)}resume"
    await call.say(_("Paused: nothing crosses into or out of this room until {command}.",
                     command=word))  # fmt: skip
    await call.audit("pause", "done")


@command("resume", "moderator", _("{command}"), _("restart crossing into and out of this room"))
async def resume(call: Call) -> None:
    await call.moderation.state.pause(call.room.id, False)
    await call.say(_("Resumed: messages cross again as the circles say."))
    await call.audit("resume", "done")


@command(
    "circle",
    "anyone",
    _("{command}"),
    _("which rooms this room is linked with, and the threads shared this week"),
)
async def circle(call: Call) -> None:
    router = call.router
    circles = router.circles_of_room(call.room.id)
    if not circles:
        await call.say(_("This room is in no circle: nothing crosses."))
        return
    parts: list[Param] = []
    state = call.moderation.state
    for c in circles:
        shared = await state.shared_this_week(c.id)
        parts.append(ngettext("{circle} {n} thread was shared in the last 7 days.",
                              "{circle} {n} threads were shared in the last 7 days.",
                              shared, circle=circle_line(router, c, call.room)))  # fmt: skip
    if await state.paused(call.room.id):
        parts.append(_("This room is paused."))
    await call.say(Lines(tuple(parts)))


@command("optout", "anyone", _("{command}"), _("never carry my messages to other rooms"))
async def optout(call: Call) -> None:
    await call.moderation.state.opt_out(call.who, True)
    word = call.router.command_prefix(call.room) + "optin"
    await call.say(_("Your messages will not be carried to other rooms. {command} undoes it.",
                     command=word))  # fmt: skip
    await call.audit("optout", "done")


@command("optin", "anyone", _("{command}"), _("carry my messages again"))
async def optin(call: Call) -> None:
    await call.moderation.state.opt_out(call.who, False)
    await call.say(_("Your messages are carried again, as the circles say."))
    await call.audit("optin", "done")


def help_line(prefix: str, spec: Spec) -> Message:
    """One command in help: its usage (the command word untranslated) and what it does."""
    usage = Message(spec.usage.msgid, (*spec.usage.params, ("command", prefix + spec.name)))
    if spec.right == "moderator":
        return _("{usage}: {summary} (moderators)", usage=usage, summary=spec.summary)
    if spec.right == "organizer":
        return _("{usage}: {summary} (organizers)", usage=usage, summary=spec.summary)
    return _("{usage}: {summary}", usage=usage, summary=spec.summary)


@command("help", "anyone", _("{command}"), _("these commands"))
async def help_(call: Call) -> None:
    prefix = call.router.command_prefix(call.room)
    parts: list[Param] = [_("Translocal commands:")]
    parts += [help_line(prefix, spec) for spec in listed()]
    if not has_catalog(call.room.language):
        parts.append(_("(These texts are machine-translated from English.)"))
    await call.say(Lines(tuple(parts)))
