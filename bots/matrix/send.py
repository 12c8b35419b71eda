"""Deliveries into Matrix rooms: sends, edits, redactions and files, each idempotent.

Every event goes out with a transaction id derived from the delivery's idempotency key, so a
resend after a crash is absorbed by the homeserver (it remembers transaction ids per device,
which is why the bot keeps its device). nio answers failures with ErrorResponse objects;
here they become the bridge's RetryLater (429: the server's wait; 5xx, timeouts, connection
errors: backoff) and PermanentFailure (forbidden, not in the room, no such room).

Every event carries ``"m.mentions": {}``: a copy mentions nobody of its own accord, so a
carried "@room" or a name pings no one (the bot may have the power to ping the whole room).
Call-outs go as ``m.notice``, as the bridge's notices do; members' copies never do.

A reply copy goes into a Matrix thread when the room holds its thread's root (see
bots/matrix/threads.py); a carried location goes as ``m.location`` with a ``geo:`` URI after
the attribution; video and audio carry their duration (ms), size and shape in ``info``; a
call-out with ``pin: true`` is appended to the room's pinned events. A poll copy goes as an
MSC3381 poll (bots/matrix/polls.py), or as its numbered list where the room refuses polls.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError
from nio import (
    AsyncClient,
    ContentRepositoryConfigResponse,
    ErrorResponse,
    LocalProtocolError,
    RoomRedactResponse,
    RoomSendResponse,
    SendRetryError,
    UploadResponse,
)

from bots.matrix import polls
from bots.matrix.ingest import HTML
from bots.matrix.render import render_parts
from bots.matrix.settings import MAX_FILE
from bots.matrix.threads import Threads, relation
from bridge.model import media_note
from bridge.model.envelope import Delivery, Location, Media
from bridge.model.media import MediaStore
from bridge.model.ports import Job, PermanentFailure, RetryLater

log = logging.getLogger(__name__)

EDIT_FALLBACK_CHARS = 1000  # the "* ..." body older clients show for an edit, shortened
_MSGTYPES = {"photo": "m.image", "sticker": "m.image", "video": "m.video", "audio": "m.audio",
             "voice": "m.audio", "file": "m.file"}  # fmt: skip
_GONE = ("M_NOT_FOUND",)
NO_MENTIONS: dict[str, Any] = {"m.mentions": {}}  # in every event: nobody pinged


def _msgtype(d: Delivery) -> str:
    return "m.notice" if d.notice or d.callout else "m.text"


def tx_id(key: str, part: str | int) -> str:
    """The transaction id of one part of a delivery: the same on every resend."""
    return hashlib.sha256(f"{key}:{part}".encode()).hexdigest()[:32]


def check(response: object, what: str) -> None:
    """Raise what an ErrorResponse means for the deliverer; return when it is not one."""
    if not isinstance(response, ErrorResponse):
        return
    status = getattr(response.transport_response, "status", None)
    code = response.status_code or ""
    if code == "M_LIMIT_EXCEEDED" or status == 429:
        wait = (response.retry_after_ms or 5000) / 1000
        raise RetryLater(wait, f"the homeserver asked to wait {wait:.1f} s ({what})")
    if status is None or status >= 500:
        raise RetryLater(1.0, f"the homeserver failed {what} ({status or code or 'error'})",
                         backoff=True)  # fmt: skip
    if code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
        raise PermanentFailure(f"the homeserver refused the bot's access token ({what})")
    raise PermanentFailure(f"the homeserver refused {what}: {code or status}")


@dataclass
class SendContext:
    client: AsyncClient
    bot_id: str
    media: MediaStore
    max_upload: int | None = None
    upload_limit: int | None = field(default=None)  # the homeserver's, once asked


class Sender:
    def __init__(self, ctx: SendContext) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.threads = Threads(ctx.client)

    async def deliver(self, job: Job, room_id: str | None) -> list[str]:
        d = job.delivery
        if room_id is None or room_id not in self.client.rooms:
            raise PermanentFailure(f"the bot is not in Matrix room {d.chat}: invite it")
        if d.keep_encrypted and d.action != "delete" and not self.client.rooms[room_id].encrypted:
            # the room this chat is now (an upgrade may have replaced it) is not encrypted
            raise PermanentFailure(
                f"it comes from an end-to-end-encrypted room, and Matrix room {room_id} "
                "is not encrypted (the circle does not set allow_unencrypted: true)"
            )
        try:
            if d.action == "send":
                return await self._send(job, room_id)
            if d.action == "edit":
                return await self._edit(job, room_id)
            await self._delete(job, room_id)
        except (ClientError, TimeoutError, OSError, SendRetryError) as exc:
            raise RetryLater(1.0, f"homeserver unreachable ({type(exc).__name__})",
                             backoff=True) from None  # fmt: skip
        except LocalProtocolError as exc:
            raise PermanentFailure(f"matrix: {exc}") from None
        return []

    async def _room_send(self, room_id: str, content: dict[str, Any], txn: str) -> str:
        response = await self.client.room_send(
            room_id, "m.room.message", content, tx_id=txn, ignore_unverified_devices=True
        )
        check(response, "a message")
        assert isinstance(response, RoomSendResponse)
        return str(response.event_id)

    async def _send(self, job: Job, room_id: str) -> list[str]:
        d = job.delivery
        file_content: dict[str, Any] | None = None
        if d.media is not None:
            file_content, reason = await self._upload(d.media, room_id)
            if file_content is None:
                note = d.media.describe(reason, d.language or "en")
                d = d.model_copy(update={"text": f"{d.text}\n{note}" if d.text else note})
        msgtype = _msgtype(d)
        ids: list[str] = []
        root = await self.threads.root_of(room_id, job.reply_to) if job.reply_to else None
        if d.poll is not None:  # a native poll; the numbered list where the room refuses it
            poll = polls.poll_content(d)
            if job.reply_to:
                poll["m.relates_to"] = relation(root, job.reply_to)
            sent = await self._poll(room_id, poll, tx_id(d.key, "poll"))
            if sent is not None:
                await polls.remember(self.ctx.media.redis, self.ctx.bot_id, sent, room_id, d)
                return [sent]
        for i, (body, html) in enumerate(render_parts(d)):
            content: dict[str, Any] = {"msgtype": msgtype, "body": body, "format": HTML,
                                       "formatted_body": html, **NO_MENTIONS}  # fmt: skip
            if i == 0 and job.reply_to:
                content["m.relates_to"] = relation(root, job.reply_to)
            ids.append(await self._room_send(room_id, content, tx_id(d.key, i)))
            self.threads.sent(ids[-1], content)
        if d.location is not None:
            ids.append(await self._room_send(room_id, _place(d.location), tx_id(d.key, "place")))
        if file_content is not None:
            ids.append(await self._room_send(room_id, file_content, tx_id(d.key, "media")))
        if d.pin and ids:
            await self.threads.pin(room_id, ids[0])
        return ids

    async def _poll(self, room_id: str, content: dict[str, Any], txn: str) -> str | None:
        """The poll's event id; None when the room refuses it (a 4xx that is not a 429:
        the numbered list goes instead). A 429 or 5xx is retried as any send is."""
        response = await self.client.room_send(room_id, polls.START_TYPE, content, tx_id=txn,
                                               ignore_unverified_devices=True)  # fmt: skip
        if isinstance(response, RoomSendResponse):
            return str(response.event_id)
        status = getattr(getattr(response, "transport_response", None), "status", None)
        if status is None or status == 429 or status >= 500 or response.status_code in (
            "M_LIMIT_EXCEEDED", "M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"
        ):  # fmt: skip
            check(response, "a poll")
        log.warning("matrix bot %s: room %s refused a poll (%s); the numbered list goes",
                    self.ctx.bot_id, room_id, response.status_code or status)  # fmt: skip
        return None

    async def _edit(self, job: Job, room_id: str) -> list[str]:
        d = job.delivery
        msgtype = _msgtype(d)
        parts = render_parts(d)
        edited: list[str] = []
        for i, (copy_id, (body, html)) in enumerate(zip(job.copies, parts, strict=False)):
            new = {"msgtype": msgtype, "body": body, "format": HTML, "formatted_body": html,
                   **NO_MENTIONS}  # fmt: skip
            short = body[:EDIT_FALLBACK_CHARS]
            fallback = short if short == body else short + "…"
            content = {
                "msgtype": msgtype,
                "body": f"* {fallback}",
                "m.new_content": new,
                "m.relates_to": {"rel_type": "m.replace", "event_id": copy_id},
                **NO_MENTIONS,
            }
            await self._room_send(room_id, content, tx_id(d.key, i))
            edited.append(copy_id)
        if d.media is None and d.location is None:  # shorter: fewer parts remain
            for extra in job.copies[len(parts) :]:
                await self._redact(room_id, extra, tx_id(d.key, f"redact:{extra}"))
        return edited

    async def _delete(self, job: Job, room_id: str) -> None:
        for copy_id in job.copies:
            await self._redact(room_id, copy_id, tx_id(job.delivery.key, f"redact:{copy_id}"))

    async def _redact(self, room_id: str, event_id: str, txn: str) -> None:
        response = await self.client.room_redact(room_id, event_id, tx_id=txn)
        if isinstance(response, ErrorResponse) and response.status_code in _GONE:
            return
        check(response, "a redaction")
        assert isinstance(response, RoomRedactResponse)

    # ---- files -------------------------------------------------------------------------

    async def _limit(self) -> int:
        """The most the bot uploads: the homeserver's limit (asked once), and max_upload."""
        if self.ctx.upload_limit is None:
            response = await self.client.content_repository_config()
            if isinstance(response, ContentRepositoryConfigResponse):
                self.ctx.upload_limit = response.upload_size or MAX_FILE
            else:
                check(response, "the upload limit")
                self.ctx.upload_limit = MAX_FILE
        limit = self.ctx.upload_limit
        return min(limit, self.ctx.max_upload) if self.ctx.max_upload else limit

    async def _upload(self, media: Media, room_id: str) -> tuple[dict[str, Any] | None, str]:
        """The file event's content once uploaded, or None and why it is not carried."""
        if not media.blob:
            return None, ""
        data = await self.ctx.media.get(media.blob)
        if data is None:
            return None, media_note.EXPIRED
        if len(data) > await self._limit():
            return None, media_note.TOO_LARGE_FOR_SERVER
        encrypted = self.client.rooms[room_id].encrypted
        name = media.name or _default_name(media)
        mime = media.mime or "application/octet-stream"
        response, secrets = await self.client.upload(
            io.BytesIO(data), content_type=mime, filename=name, encrypt=encrypted,
            filesize=len(data),
        )  # fmt: skip
        check(response, "an upload")
        assert isinstance(response, UploadResponse)
        info: dict[str, Any] = {"mimetype": mime, "size": len(data)}
        if media.width and media.height:
            info.update(w=media.width, h=media.height)
        if media.duration:
            info["duration"] = media.duration * 1000  # milliseconds
        content: dict[str, Any] = {"msgtype": _MSGTYPES[media.kind], "body": name,
                                   "filename": name, "info": info, **NO_MENTIONS}  # fmt: skip
        if encrypted and secrets is not None:
            content["file"] = {**secrets, "url": response.content_uri}
        else:
            content["url"] = response.content_uri
        if media.kind == "voice":
            content["org.matrix.msc3245.voice"] = {}
        return content, ""


def _place(place: Location) -> dict[str, Any]:
    """An m.location event (with MSC3488's fields, which Element reads): a pin on a map."""
    geo = f"geo:{place.latitude},{place.longitude}"
    label = ", ".join(x for x in (place.title, place.address) if x)
    body = f"{label} ({geo})" if label else geo
    return {"msgtype": "m.location", "body": body, "geo_uri": geo,
            "org.matrix.msc3488.location": {"uri": geo, "description": label},
            "org.matrix.msc3488.asset": {"type": "m.pin"}, **NO_MENTIONS}  # fmt: skip


def _default_name(media: Media) -> str:
    ext = media.mime.split("/", 1)[1] if "/" in media.mime else "bin"
    return f"{media.kind}.{ext.split(';')[0][:10]}"
