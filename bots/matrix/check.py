"""`translocal check` for Matrix rooms: is the bot in, may it post and redact, is it encrypted?

With an access token the check uses it. With a password it logs in on a device of its own
and logs out at the end (which deletes that device), so the bot's own device is untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import ClientError
from nio import (
    AsyncClient,
    JoinedRoomsResponse,
    RoomGetStateEventResponse,
    RoomResolveAliasResponse,
    SyncResponse,
    WhoamiResponse,
)

from bots.matrix.session import client_config, password_login
from bots.matrix.settings import MatrixSettings
from bridge.model.errors import ServiceUnavailable
from bridge.model.platforms import RoomCheck
from bridge.model.redaction import add_secrets
from bridge.model.settings import RoomConfig


async def check_rooms(settings: MatrixSettings, rooms: list[RoomConfig]) -> list[RoomCheck]:
    try:
        async with signed_in(settings, "check") as client:
            joined = await client.joined_rooms()
            member_of = set(joined.rooms) if isinstance(joined, JoinedRoomsResponse) else set()
            invited = await _invited(client)
            return [
                await _room(client, settings.user_id, room, member_of, invited) for room in rooms
            ]
    except ServiceUnavailable as exc:
        return _all(rooms, str(exc))


@contextlib.asynccontextmanager
async def signed_in(settings: MatrixSettings, purpose: str) -> AsyncIterator[AsyncClient]:
    """A client signed in as the bot, the bot's own device untouched: with the access token
    when the homeserver takes it, else a password login on a device of its own (named for
    ``purpose``), logged out at the end, which deletes that device. Raises
    ServiceUnavailable, in one line without a secret, when the homeserver refuses the
    credentials or cannot be reached (also while the client is in use)."""
    client = AsyncClient(
        settings.homeserver, settings.user_id, config=client_config(encryption=False)
    )
    logged_in_here = False
    try:
        try:
            if settings.access_token is not None:
                client.access_token = settings.access_token.get_secret_value()
                whoami = await client.whoami()
                refused = not (
                    isinstance(whoami, WhoamiResponse) and whoami.user_id == settings.user_id
                )
                if refused and settings.password is None:
                    raise ServiceUnavailable(
                        "the homeserver refused the access token: make a new one"
                    )
            else:
                refused = True
            if refused:
                login = await password_login(settings, None, f"{settings.device_name} ({purpose})")
                if isinstance(login, str):
                    raise ServiceUnavailable(
                        f"the homeserver refused the login of {settings.user_id} ({login}): "
                        "check bots[].password"
                    )
                add_secrets([login[0]])
                client.restore_login(settings.user_id, login[1], login[0])
                logged_in_here = True
            yield client
        except (ClientError, TimeoutError, OSError) as exc:
            raise ServiceUnavailable(
                f"the homeserver {settings.homeserver} is unreachable ({type(exc).__name__})"
            ) from None
    finally:
        if logged_in_here:
            with contextlib.suppress(ClientError, TimeoutError, OSError):
                await client.logout()
        await client.close()


def _all(rooms: list[RoomConfig], detail: str) -> list[RoomCheck]:
    return [RoomCheck(r.id, False, detail) for r in rooms]


async def _state(client: AsyncClient, room_id: str, kind: str, key: str = "") -> dict[str, Any]:
    response = await client.room_get_state_event(room_id, kind, key)
    if isinstance(response, RoomGetStateEventResponse) and isinstance(response.content, dict):
        return response.content
    return {}


async def _invited(client: AsyncClient) -> set[str]:
    """The rooms the bot is invited to (a non-member cannot read a room's state)."""
    quiet = {"not_types": ["*"]}
    only_invites = {"presence": quiet, "account_data": quiet,
                    "room": {"timeline": {"limit": 0}, "state": quiet, "ephemeral": quiet,
                             "account_data": quiet}}  # fmt: skip
    response = await client.sync(timeout=0, sync_filter=only_invites)
    return set(response.rooms.invite) if isinstance(response, SyncResponse) else set()


async def _room(
    client: AsyncClient, user_id: str, room: RoomConfig, member_of: set[str], invited: set[str]
) -> RoomCheck:
    chat, room_id = room.chat, room.chat
    if chat.startswith("#"):
        found = await client.room_resolve_alias(chat)
        if not isinstance(found, RoomResolveAliasResponse):
            why = f"alias {chat} does not resolve ({found.status_code})"
            return RoomCheck(room.id, False, f"{why}: fix rooms[].chat or create the alias")
        room_id = found.room_id
    if room_id not in member_of:
        if room_id in invited:
            return RoomCheck(room.id, False, f"the bot is invited to {chat} but not in yet: "
                             "`translocal run` accepts invites to configured rooms")  # fmt: skip
        fix = "(it accepts invites to configured rooms) or make the room public"
        return RoomCheck(room.id, False, f"the bot is not in {chat}: invite {user_id} {fix}")
    levels = await _state(client, room_id, "m.room.power_levels")
    users: dict[str, Any] = _dict(levels.get("users"))
    events: dict[str, Any] = _dict(levels.get("events"))
    level = _int(users.get(user_id), _int(levels.get("users_default"), 0))
    events_default = _int(levels.get("events_default"), 0)
    to_post = _int(events.get("m.room.message"), events_default)
    to_redact = _int(events.get("m.room.redaction"), events_default)
    to_pin = _int(events.get("m.room.pinned_events"), _int(levels.get("state_default"), 50))
    encrypted = bool(await _state(client, room_id, "m.room.encryption"))
    its = f"the bot's power level in {chat} is {level}"
    if level < to_post:
        fix = "raise its level in the room settings"
        return RoomCheck(room.id, False, f"{its}, and posting needs {to_post}: {fix}")
    if level < to_redact:
        need = f"redacting its copies (retract) needs {to_redact}"
        return RoomCheck(room.id, False, f"{its}, and {need}: raise its level")
    where = chat if chat == room_id else f"{chat} ({room_id})"
    crypt = "encrypted (the bot decrypts it)" if encrypted else "not encrypted"
    pins = "" if level >= to_pin else (
        f"; call-outs with pin: true stay unpinned here: pinning needs power level {to_pin} "
        "(raise the bot's level to pin them)"
    )  # fmt: skip
    return RoomCheck(room.id, True, f"matrix {where}: member, power level {level}, can post "
                     f"and redact its copies, {crypt}{pins}")  # fmt: skip


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
