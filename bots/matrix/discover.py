"""`translocal discover` for Matrix: the rooms the bot has joined and the invites it holds.

It signs in as ``translocal check`` does (``check.signed_in``: the access token, or a
password login on a device of its own that is deleted at the end), so the bot's own device,
its keys and its sync token are untouched and a running bridge is not disturbed. Joined rooms
come with their name (or canonical alias) and whether they are encrypted, read from the
room's state; invites with what the inviting server shares before joining (the stripped
state in ``/sync``: name, alias and, on Synapse, the encryption event). Nothing is joined:
``translocal run`` accepts invites to configured rooms only.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from nio import AsyncClient, JoinedRoomsResponse, RoomGetStateEventResponse

from bots.matrix.check import signed_in
from bots.matrix.session import REQUEST_TIMEOUT_S
from bots.matrix.settings import MatrixSettings
from bridge.model.errors import ServiceUnavailable
from bridge.model.platforms import SeenChat

_QUIET = {"not_types": ["*"]}
# invites only: no timeline, no joined rooms' state, no presence or account data
_INVITES_ONLY = {
    "presence": _QUIET,
    "account_data": _QUIET,
    "room": {"timeline": {"limit": 0}, "state": _QUIET, "ephemeral": _QUIET,
             "account_data": _QUIET},
}  # fmt: skip


async def discover(settings: MatrixSettings) -> list[SeenChat]:
    """Joined rooms first, then pending invites. Raises ServiceUnavailable when the
    homeserver refuses the credentials or cannot be reached."""
    async with signed_in(settings, "discover") as client:
        joined = await client.joined_rooms()
        if not isinstance(joined, JoinedRoomsResponse):
            raise ServiceUnavailable(f"the homeserver would not list the joined rooms "
                                     f"({joined.status_code})")  # fmt: skip
        found = [await _joined(client, room_id) for room_id in joined.rooms]
        for room_id, state in (await _invites(settings.homeserver, client.access_token)).items():
            found.append(_invite(room_id, state))
    return found


async def _joined(client: AsyncClient, room_id: str) -> SeenChat:
    name = (await _state(client, room_id, "m.room.name")).get("name")
    alias = (await _state(client, room_id, "m.room.canonical_alias")).get("alias")
    encrypted = bool(await _state(client, room_id, "m.room.encryption"))
    return SeenChat(room_id, _title(name, alias), "room", encrypted=encrypted)


async def _state(client: AsyncClient, room_id: str, kind: str) -> dict[str, Any]:
    response = await client.room_get_state_event(room_id, kind, "")
    if isinstance(response, RoomGetStateEventResponse) and isinstance(response.content, dict):
        return response.content
    return {}


async def _invites(homeserver: str, token: str) -> dict[str, list[dict[str, Any]]]:
    """The invited rooms and their stripped state, read from one ``/sync`` (nio's parsed
    response drops the encryption event of an invite, so this one is read as JSON)."""
    params = {"timeout": "0", "filter": json.dumps(_INVITES_ONLY)}
    url = f"{homeserver}/_matrix/client/v3/sync"
    try:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as http:
            answer = await http.get(url, params=params,
                                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(
            f"the homeserver {homeserver} is unreachable ({type(exc).__name__})"
        ) from None
    if answer.status_code != 200:
        raise ServiceUnavailable(f"the homeserver would not list invites ({answer.status_code})")
    try:
        body = answer.json()
    except ValueError:
        body = {}
    invites = _dict(_dict(_dict(body).get("rooms")).get("invite"))
    found: dict[str, list[dict[str, Any]]] = {}
    for room_id, room in invites.items():
        events = _dict(_dict(room).get("invite_state")).get("events")
        found[str(room_id)] = [e for e in events if isinstance(e, dict)] if isinstance(
            events, list) else []  # fmt: skip
    return found


def _invite(room_id: str, state: list[dict[str, Any]]) -> SeenChat:
    def content(kind: str) -> dict[str, Any]:
        for event in state:
            if event.get("type") == kind and event.get("state_key", "") == "":
                return _dict(event.get("content"))
        return {}

    title = _title(content("m.room.name").get("name"), content("m.room.canonical_alias").get(
        "alias"))  # fmt: skip
    encrypted = bool(content("m.room.encryption"))
    return SeenChat(room_id, title, "room", encrypted=encrypted, status="invited")


def _title(name: object, alias: object) -> str:
    name = name if isinstance(name, str) else ""
    alias = alias if isinstance(alias, str) else ""
    if name and alias:
        return f"{name} ({alias})"
    return name or alias


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
