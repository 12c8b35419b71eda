"""Rules that relate one part of the config to another.

They run on the raw (expanded) data, not on the validated models, so that they still report
when some unrelated field is invalid: one run of the loader shows every problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from bridge.model.errors import ConfigProblem
from bridge.model.platforms import Platform

_NO_VS = str.maketrans("", "", "\ufe0f")


def _items(data: dict[str, Any], key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    value = data.get(key)
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


def _unique_ids(data: dict[str, Any], key: str, out: list[ConfigProblem]) -> dict[str, int]:
    seen: dict[str, int] = {}
    for i, item in _items(data, key):
        ident = item.get("id")
        if not isinstance(ident, str | int):
            continue
        ident = str(ident)
        if ident in seen:
            out.append(
                ConfigProblem(
                    f"{key}[{i}].id", f"{ident!r} is used twice (also {key}[{seen[ident]}])"
                )
            )
        else:
            seen[ident] = i
    return seen


def _names(value: Any) -> list[tuple[int, str]]:
    if not isinstance(value, list):
        return []
    return [(j, str(v)) for j, v in enumerate(value) if isinstance(v, str | int)]


def crosscheck(data: dict[str, Any], known: dict[str, Platform]) -> list[ConfigProblem]:
    out: list[ConfigProblem] = []
    bots = _unique_ids(data, "bots", out)
    rooms = _unique_ids(data, "rooms", out)
    circles = _unique_ids(data, "circles", out)
    _unique_ids(data, "callouts", out)

    bot_platform: dict[str, str] = {}
    for _, entry in _items(data, "bots"):
        if isinstance(entry.get("id"), str) and isinstance(entry.get("platform"), str):
            bot_platform.setdefault(entry["id"], entry["platform"])

    room_platform: dict[str, str] = {}
    chats: dict[tuple[str, str, str], int] = {}
    for i, room in _items(data, "rooms"):
        bot = room.get("bot")
        if isinstance(bot, str) and bot not in bots:
            out.append(ConfigProblem(f"rooms[{i}].bot", f"{bot!r} is not the id of any bot"))
            continue
        platform = known.get(bot_platform.get(str(bot), ""))
        if platform is None:
            continue
        room_platform[str(room.get("id"))] = platform.name
        chat = room.get("chat")
        if isinstance(chat, str | int) and not isinstance(chat, bool):
            why = platform.check_chat(str(chat))
            if why:
                out.append(ConfigProblem(f"rooms[{i}].chat", why))
            place = (str(bot), str(chat), str(room.get("topic")))
            if place in chats:
                out.append(
                    ConfigProblem(
                        f"rooms[{i}].chat",
                        f"the same chat{' and topic' if room.get('topic') else ''} as "
                        f"rooms[{chats[place]}], with the same bot",
                    )
                )
            chats.setdefault(place, i)
        if room.get("topic") is not None and not platform.topics:
            out.append(ConfigProblem(f"rooms[{i}].topic", f"{platform.name} rooms have no topics"))

    uses_pseudonym = False
    for i, circle in _items(data, "circles"):
        members: set[str] = set()
        for j, name in _names(circle.get("rooms")):
            if name not in rooms:
                out.append(
                    ConfigProblem(f"circles[{i}].rooms[{j}]", f"{name!r} is not the id of any room")
                )
            elif name in members:
                out.append(ConfigProblem(f"circles[{i}].rooms[{j}]", f"{name!r} is listed twice"))
            members.add(name)
        if circle.get("relay") == "tagged" and not circle.get("tags"):
            out.append(ConfigProblem(f"circles[{i}].tags", "relay 'tagged' needs at least one tag"))
        template = circle.get("attribution", "{name} ({room})")
        if isinstance(template, str) and "{pseudonym}" in template:
            uses_pseudonym = True
        reaction = circle.get("share_reaction", "🕊")
        if isinstance(reaction, str):
            for name in sorted(members):
                platform = known.get(room_platform.get(name, ""))
                if (
                    platform
                    and platform.reactions is not None
                    and reaction.translate(_NO_VS) not in platform.reactions
                ):
                    out.append(
                        ConfigProblem(
                            f"circles[{i}].share_reaction",
                            f"{reaction!r} is not among {platform.name}'s reactions, so "
                            f"members of {name!r} could never give it (🕊 is)",
                        )
                    )
                    break

    for key in ("moderators", "organizers"):
        for j, person in _names(data.get(key)):
            scheme, sep, _ = person.partition(":")
            if not sep:
                continue  # the model says what shape it needs
            platform = known.get(scheme)
            if platform is None:
                shapes = " or ".join(f"'{p.name}:{p.person_hint}'" for p in known.values())
                out.append(ConfigProblem(f"{key}[{j}]", f"{person!r} is not {shapes}"))
            elif (why := platform.person(person)) is not None:
                out.append(ConfigProblem(f"{key}[{j}]", why))

    if uses_pseudonym and not data.get("pseudonym_key"):
        out.append(ConfigProblem("pseudonym_key", "is required because a circle uses {pseudonym}"))

    ops = data.get("ops_room")
    if isinstance(ops, str) and ops not in rooms:
        out.append(ConfigProblem("ops_room", f"{ops!r} is not the id of any room"))

    for i, callout in _items(data, "callouts"):
        for j, name in _names(callout.get("rooms")):
            if name not in rooms:
                out.append(
                    ConfigProblem(
                        f"callouts[{i}].rooms[{j}]", f"{name!r} is not the id of any room"
                    )
                )
        for j, name in _names(callout.get("circles")):
            if name not in circles:
                out.append(
                    ConfigProblem(
                        f"callouts[{i}].circles[{j}]", f"{name!r} is not the id of any circle"
                    )
                )
        report = callout.get("report_to")
        if isinstance(report, str) and report not in rooms:
            out.append(
                ConfigProblem(f"callouts[{i}].report_to", f"{report!r} is not the id of any room")
            )
    return out
