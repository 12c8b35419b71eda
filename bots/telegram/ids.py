"""Message ids that stay unique in a room after its group became a supergroup.

A Telegram group that grows into a supergroup gets a new chat id, and message ids start again
in it: message 5 of the new chat is not message 5 of the old one. The relay knows a room's
messages by their id alone, so the ids of the chat a room moved to are written with a mark
(``s5``): they never meet the old group's, whose ids stay plain. On the way out, an id is
used only in the chat it belongs to: a plain id of a moved room (a copy left in the old
group, which Telegram no longer lets anyone touch) is not acted on in the new chat, where it
would name someone else's message.
"""

from __future__ import annotations

MOVED = "s"  # the mark of an id in the supergroup a configured group became


def outward(message_id: int, moved: bool) -> str:
    """The id the bridge knows a message by: marked when it is in the chat a room moved to."""
    return f"{MOVED}{message_id}" if moved else str(message_id)


def inward(value: str, moved: bool) -> int | None:
    """The platform's id in the chat the room is in now, or None when ``value`` belongs to
    the other chat (or is not a Telegram id at all)."""
    marked = value.startswith(MOVED)
    if marked != moved:
        return None
    digits = value[len(MOVED) :] if marked else value
    return int(digits) if digits.lstrip("-").isdigit() else None
