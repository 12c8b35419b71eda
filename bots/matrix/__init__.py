"""Matrix: the platform's facts and its registration; matrix-nio is not imported here.

Importing this package registers the ``matrix`` platform (settings model, room-id and
user-id schemes, command prefixes, limits, the loggers of matrix-nio) and nothing heavier:
the bot (``bots.matrix.bot``) and the room check (``bots.matrix.check``) are imported only
inside the factory and the check, when a configured bot asks for them. The modules:

- ``settings``: ``MatrixSettings`` and the sizes the adapter holds to;
- ``session``: the bot's one device, kept across restarts;
- ``bot``: the lifecycle, the sync loop, /healthz; ``membership``: invites, joins, aliases,
  room upgrades; ``rooms``: which room id each configured chat is now;
- ``ingest``: events in, envelopes out; ``fetch``: their files; ``parked``: events waiting
  for their decryption key; ``html_reader``: ``formatted_body`` read as text and spans;
- ``send``: deliveries out; ``render``: a delivery as ``(body, formatted_body)`` parts;
- ``check``: ``translocal check`` for Matrix rooms.
"""

from __future__ import annotations

import re

from bots.matrix.settings import MAX_FILE, TEXT_LIMIT_BYTES, MatrixSettings
from bridge.model.platforms import Platform, RoomCheck, SeenChat, TextLimit, register
from bridge.model.ports import Bot, BotContext
from bridge.model.settings import BotSettings, RoomConfig

__all__ = ["PLATFORM", "MatrixSettings", "check_chat", "check_person"]

_USER_ID = re.compile(r"@[^:\s]+:\S+")


def check_chat(chat: str) -> str | None:
    # room ids carry their server before room version 12 (!id:server), not since (!id)
    if re.fullmatch(r"![^:\s]+(?::\S+)?|#[^:\s]+:\S+", chat):
        return None
    return f"{chat!r} is not a Matrix room id (!id or !id:server) or alias (#alias:server)"


def check_person(who: str) -> str | None:
    """None when ``who`` is a Matrix user id (``@name:server``), else why not."""
    return None if _USER_ID.fullmatch(who) else "a Matrix user id looks like @name:server"


def _utf8_bytes(text: str) -> int:
    return len(text.encode())


def _identity(settings: BotSettings) -> str | None:
    return f"matrix:{settings.user_id}" if isinstance(settings, MatrixSettings) else None


def _make(ctx: BotContext[MatrixSettings]) -> Bot:
    from bots.matrix.bot import MatrixBot  # matrix-nio only when running

    return MatrixBot(ctx)


async def _check(settings: BotSettings, rooms: list[RoomConfig]) -> list[RoomCheck]:
    from bots.matrix.check import check_rooms

    if not isinstance(settings, MatrixSettings):
        raise TypeError(f"bot {settings.id} is not a Matrix bot")
    return await check_rooms(settings, rooms)


async def _discover(settings: BotSettings) -> list[SeenChat]:
    from bots.matrix.discover import discover

    if not isinstance(settings, MatrixSettings):
        raise TypeError(f"bot {settings.id} is not a Matrix bot")
    return await discover(settings)


PLATFORM = register(
    Platform(
        name="matrix",
        settings=MatrixSettings,
        check_chat=check_chat,
        check_person=check_person,
        person_hint="<mxid>",
        command_prefixes=("!", "/"),
        text_limit=TextLimit(TEXT_LIMIT_BYTES, "bytes", _utf8_bytes),
        max_file=MAX_FILE,
        # matrix-nio logs every event it handles at INFO and event contents at DEBUG (and
        # its store, peewee, its queries); it quotes a malformed event (a message body) when
        # it warns about one, so nio is silenced entirely
        quiet_loggers=("nio", "peewee"),
        silent_loggers=("nio",),
        encryption=True,
        identity=_identity,
        factory=_make,
        check_rooms=_check,
        discover=_discover,
    )
)
