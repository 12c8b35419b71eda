"""People in Matrix rooms, for the demo: plain matrix-nio clients that log in, open rooms,
write, reply, edit and retract, and remember what they saw so that it can be shown the way
their Matrix client would show it (edits applied, redactions gone, replies linked)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    LoginResponse,
    RoomCreateResponse,
    RoomSendResponse,
    SyncResponse,
)


class MatrixError(Exception):
    """The homeserver refused what a member did."""


@dataclass
class Seen:
    """One message as a room's members see it now."""

    event_id: str
    sender: str
    body: str
    reply_to: str | None = None
    notice: bool = False
    edited: bool = False


@dataclass
class Member:
    client: AsyncClient
    rooms: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # room id -> events
    _task: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    @classmethod
    async def login(cls, homeserver: str, user_id: str, password: str) -> Member:
        config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=2, request_timeout=20)
        client = AsyncClient(homeserver, user_id, config=config)
        response = await client.login(password, device_name="demo member")
        if not isinstance(response, LoginResponse):
            await client.close()
            raise MatrixError(f"{user_id} could not log in: {response}")
        member = cls(client)
        await member.sync(0)
        member._task = asyncio.create_task(member._follow(), name=f"member {user_id}")
        return member

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    async def _follow(self) -> None:
        while True:
            await self.sync(1000)

    async def sync(self, timeout_ms: int) -> None:
        try:
            response = await self.client.sync(timeout=timeout_ms)
        except (OSError, TimeoutError):
            await asyncio.sleep(0.5)
            return
        if not isinstance(response, SyncResponse):
            await asyncio.sleep(0.5)
            return
        for room_id, joined in response.rooms.join.items():
            for event in joined.timeline.events:
                self.rooms.setdefault(room_id, []).append(event.source)

    async def open_room(self, alias: str, name: str, invite: list[str]) -> str:
        """Create a room with a local alias (``berlin`` for ``#berlin:server``)."""
        response = await self.client.room_create(alias=alias, name=name, invite=invite)
        if not isinstance(response, RoomCreateResponse):
            raise MatrixError(f"could not create #{alias}: {response}")
        return str(response.room_id)

    async def join(self, room: str) -> str:
        response = await self.client.join(room)
        if not isinstance(response, JoinResponse):
            raise MatrixError(f"{self.user_id} could not join {room}: {response}")
        return str(response.room_id)

    async def say(
        self, room_id: str, text: str, *, reply_to: str | None = None, notice: bool = False
    ) -> str:
        content: dict[str, Any] = {"msgtype": "m.notice" if notice else "m.text", "body": text}
        if reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self._send(room_id, content)

    async def edit(self, room_id: str, event_id: str, text: str) -> str:
        content = {
            "msgtype": "m.text",
            "body": f"* {text}",
            "m.new_content": {"msgtype": "m.text", "body": text},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        }
        return await self._send(room_id, content)

    async def _send(self, room_id: str, content: dict[str, Any]) -> str:
        response = await self.client.room_send(room_id, "m.room.message", content)
        if not isinstance(response, RoomSendResponse):
            raise MatrixError(f"{self.user_id} could not send: {response}")
        return str(response.event_id)

    def find(self, room_id: str, needle: str) -> str | None:
        """The id of the latest message that shows ``needle``."""
        for seen in reversed(self.view(room_id)):
            if needle in seen.body:
                return seen.event_id
        return None

    def view(self, room_id: str) -> list[Seen]:
        """The room's messages as a client shows them now."""
        shown: dict[str, Seen] = {}
        for event in self.rooms.get(room_id, []):
            kind = event.get("type")
            content = event.get("content") or {}
            if kind == "m.room.redaction":
                shown.pop(str(event.get("redacts") or content.get("redacts") or ""), None)
                continue
            if kind != "m.room.message" or "body" not in content:
                continue
            relates = content.get("m.relates_to") or {}
            if relates.get("rel_type") == "m.replace":
                target = shown.get(str(relates.get("event_id")))
                new = content.get("m.new_content") or {}
                if target is not None and "body" in new:
                    target.body, target.edited = _strip_fallback(str(new["body"])), True
                continue
            reply = (relates.get("m.in_reply_to") or {}).get("event_id")
            shown[str(event["event_id"])] = Seen(
                event_id=str(event["event_id"]),
                sender=str(event.get("sender")),
                body=_strip_fallback(str(content["body"])),
                reply_to=str(reply) if reply else None,
                notice=content.get("msgtype") == "m.notice",
            )
        return list(shown.values())


def _strip_fallback(body: str) -> str:
    lines = body.split("\n")
    if lines and lines[0].startswith("> "):
        while lines and lines[0].startswith(">"):
            lines.pop(0)
        if lines and not lines[0].strip():
            lines.pop(0)
    return "\n".join(lines)
