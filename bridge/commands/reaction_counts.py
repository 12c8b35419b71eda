"""Counting members' reactions for the count line on copies (bridge.relay.reactions).

A reaction counts when it is on a message the bridge keeps copies of for a circle with
``carry_reactions: true``: on the origin, or on a copy in a room such a circle links to the
origin's room. Not counted: the circles' share reaction (a moderator's action, not an
opinion), reactions on messages the bridge does not know or on copies in circles without
``carry_reactions``, and the bots' own (the relay drops those before any handler). A
reaction taken back (an empty one, as Telegram reports it; a Matrix reaction's redaction)
withdraws the member's count. A reaction that is not one emoji (a Matrix reaction's key is any
text: Element sends custom reactions) counts nothing, so that no member can write text, long
or invisible, into other rooms' count lines.

The Matrix redaction of a reaction arrives as a ``delete`` of an id the message map does not
know; the router hands it to the ``delete`` handlers, and ``withdraw_redacted`` finds the
reaction by that id (``keys.reaction_event``).
"""

from __future__ import annotations

import unicodedata
from typing import cast

import regex

from bridge.commands.registry import Call, is_moderator, on_event
from bridge.model import keys
from bridge.model.envelope import MsgRef, plain_emoji
from bridge.relay import reactions

MAX_EMOJI = 32  # characters: the longest emoji sequences (flags of regions, ZWJ families)
_PICTURE = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3]")
_KEPT = {"\u200d"} | {chr(c) for c in range(0xE0020, 0xE0080)}  # ZWJ, tags (region flags)


def is_emoji(text: str) -> bool:
    """One emoji: a single grapheme cluster, short, with a pictograph, a regional indicator
    or a keycap in it, and no control or format character but the joiner and tags."""
    return (
        0 < len(text) <= MAX_EMOJI
        and regex.fullmatch(r"\X", text) is not None
        and _PICTURE.search(text) is not None
        and not any(unicodedata.category(c) in ("Cc", "Cf") and c not in _KEPT for c in text)
    )


@on_event("reaction")
async def count_reaction(call: Call) -> None:
    envelope, room, redis = call.envelope, call.room, call.redis
    if envelope.reaction is None or not envelope.message_id:
        return
    shares = {plain_emoji(c.share_reaction) for c in call.config.circles if room.id in c.rooms}
    # of all she shows, the first that is not the moderators' share reaction
    emoji = next((e for e in envelope.shown if plain_emoji(e) not in shares), None)
    if emoji is None:
        return  # the share reaction alone
    emoji = emoji.strip()
    if emoji and not is_emoji(emoji):
        return  # free text (a Matrix custom reaction): never shown in other rooms
    origin = await call.router.maps.copy_of(room.id, envelope.message_id)
    if origin is None:
        origin = MsgRef(room=room.id, id=envelope.message_id)
    elif not reactions.carries(call.config, origin.room, room.id):
        return
    if not await redis.exists(keys.reaction_copies(origin)):
        return  # no copy kept for counts: unknown, too old, or no carry_reactions circle
    ttl = max(call.config.retention.recent_hours * 3600, 1)
    mark = await reactions.marker(redis, origin, room.id, call.who, ttl)
    await reactions.move(redis, origin, mark, emoji.strip(), ttl)
    if envelope.reaction_id and emoji:
        await redis.set(keys.reaction_event(room.id, envelope.reaction_id),
                        f"{origin}\t{mark}\t{emoji.strip()}", ex=ttl)  # fmt: skip


@on_event("delete")
async def withdraw_redacted(call: Call) -> None:
    """A deleted reaction (a Matrix redaction of it): the member's count goes, if it is
    still that reaction, and if she took it back herself or a moderator of the room did."""
    redis = call.redis
    key = keys.reaction_event(call.room.id, call.envelope.message_id)
    raw = cast(str | None, await redis.get(key))
    if raw is None:
        return
    origin_s, mark, emoji = raw.split("\t")
    room_id, _sep, origin_id = origin_s.partition("/")
    origin = MsgRef(room=room_id, id=origin_id)
    ttl = max(call.config.retention.recent_hours * 3600, 1)
    if not is_moderator(call.config, call.envelope):
        mine = await reactions.marker(redis, origin, call.room.id, call.who, ttl)
        if mark != mine:
            return  # someone else's redaction (a homeserver may pass one on): nothing
    await redis.delete(key)
    await reactions.move(redis, origin, mark, "", ttl, only_from=emoji)
