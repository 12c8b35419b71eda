"""Commands on rooms and people: pause, resume, circle, optout, optin, help; and the welcome
the bot posts once when it joins a configured room.
"""

from __future__ import annotations

from bridge.commands.registry import COMMANDS, Call, RouterView, command, on_event
from bridge.config.models import CircleConfig, RoomConfig
from bridge.model import keys

_RULE = {
    "all": "everything crosses, unless a moderator holds a thread back",
    "moderated": "a thread crosses when a moderator shares it",
    "tagged": "a message crosses with its thread when it carries one of the tags {tags}",
}


def circle_line(router: RouterView, circle: CircleConfig, here: RoomConfig) -> str:
    """A circle in words, as seen from ``here``: the other rooms and the rule."""
    others = [router.rooms[r] for r in circle.rooms if r != here.id]
    listed = ", ".join(f"{r.label} ({r.language}, {router.platform_of[r.bot]})" for r in others)
    rule = _RULE[circle.relay].format(tags=" ".join(f"#{t}" for t in circle.tags))
    return f"{circle.id}: {listed}. Here, {rule}."


@on_event("joined")
async def welcome(call: Call) -> None:
    """The bot was added to a configured room: say once what the room is linked with."""
    room, router = call.room, call.router
    if not await call.redis.set(keys.notified(f"joined:{room.id}"), 1, nx=True):
        return
    lines = ["Translocal links this room with other cities' rooms:"]
    for circle in router.circles_of_room(room.id):
        lines.append(f"- {circle_line(router, circle, room)}")
    lines.append(f"Send {router.command_prefix(room)}help for the commands.")
    await call.say("\n".join(lines))


@command("pause", "moderator", "pause", "stop all crossing into and out of this room")
async def pause(call: Call) -> None:
    await call.moderation.state.pause(call.room.id, True)
    await call.say("Paused: nothing crosses into or out of this room until resume.")
    await call.audit("pause", "done")


@command("resume", "moderator", "resume", "restart crossing into and out of this room")
async def resume(call: Call) -> None:
    await call.moderation.state.pause(call.room.id, False)
    await call.say("Resumed: messages cross again as the circles say.")
    await call.audit("resume", "done")


@command(
    "circle",
    "anyone",
    "circle",
    "which rooms this room is linked with, and the threads shared this week",
)
async def circle(call: Call) -> None:
    router = call.router
    circles = router.circles_of_room(call.room.id)
    if not circles:
        await call.say("This room is in no circle: nothing crosses.")
        return
    lines = []
    state = call.moderation.state
    for c in circles:
        shared = await state.shared_this_week(c.id)
        lines.append(
            f"{circle_line(router, c, call.room)} Threads shared in the last 7 days: {shared}."
        )
    if await state.paused(call.room.id):
        lines.append("This room is paused.")
    await call.say("\n".join(lines))


@command("optout", "anyone", "optout", "never carry my messages to other rooms")
async def optout(call: Call) -> None:
    await call.moderation.state.opt_out(call.who, True)
    prefix = call.router.command_prefix(call.room)
    await call.say(f"Your messages will not be carried to other rooms. {prefix}optin undoes it.")
    await call.audit("optout", "done")


@command("optin", "anyone", "optin", "carry my messages again")
async def optin(call: Call) -> None:
    await call.moderation.state.opt_out(call.who, False)
    await call.say("Your messages are carried again, as the circles say.")
    await call.audit("optin", "done")


@command("help", "anyone", "help", "these commands")
async def help_(call: Call) -> None:
    prefix = call.router.command_prefix(call.room)
    lines = ["Translocal commands:"]
    for spec in COMMANDS.values():
        who = {"anyone": "", "moderator": " (moderators)", "organizer": " (organizers)"}[spec.right]
        lines.append(f"{prefix}{spec.usage}: {spec.summary}{who}")
    await call.say("\n".join(lines))
