"""Files of Matrix messages, fetched into the media store (decrypted when they were sent
encrypted), within a bounded time.

One event must never hold up the others: a file the homeserver cannot serve (a 502 for an
mxc:// on a server that does not resolve, a 5xx, a 429, a timeout) is tried again with
backoff for at most ``budget_s`` (``file_retry_s``, a minute by default), then the message
crosses without it, with a note that the file could not be carried. A media server that has
just failed so is tried once only for a while, so that many such events cost one wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import ClientError
from nio import AsyncClient, DownloadError, MemoryDownloadResponse
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError

from bots.matrix.ingest import Fetch
from bridge.model import media_note
from bridge.model.envelope import Media
from bridge.model.media import MediaStore

log = logging.getLogger(__name__)

SHUNNED_S = 600.0  # a media server that failed for a whole budget is tried once, this long
MAX_PAUSE_S = 10.0


class TransientError(Exception):
    """The homeserver failed for now: the sync's processing is tried again later."""


class FileFetcher:
    """Fetches files for one bot; ``clock`` and ``sleep`` are injectable for tests."""

    def __init__(
        self,
        client: Callable[[], AsyncClient],
        store: MediaStore,
        budget_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self.store = store
        self.budget_s = budget_s
        self.clock = clock
        self.sleep = sleep
        self._shunned: dict[str, float] = {}  # media server -> until when it is tried once

    async def fetch(self, fetch: Fetch, media: Media) -> Media:
        """The media with its bytes stored (images cleaned), or with a note saying why not;
        never raises for the homeserver's failures, and returns within about ``budget_s``."""
        server = fetch.url.removeprefix("mxc://").partition("/")[0]
        now = self.clock()
        deadline = now if self._shunned.get(server, 0.0) > now else now + self.budget_s
        tries = 0
        while True:
            tries += 1
            left = max(deadline - self.clock(), 1.0)
            try:
                return await asyncio.wait_for(fetch_file(self._client(), self.store, fetch,
                                                         media), left)  # fmt: skip
            except (TransientError, ClientError, TimeoutError, OSError) as exc:
                reason = type(exc).__name__
            pause = min(0.5 * 2**tries, MAX_PAUSE_S)
            if self.clock() + pause > deadline:
                break
            await self.sleep(pause)
        self._shunned[server] = self.clock() + SHUNNED_S
        log.warning("a Matrix file from %s could not be fetched after %d tries (%s); the "
                    "message crosses with a note", server, tries, reason)  # fmt: skip
        return media.model_copy(update={"note": media_note.FETCH_FAILED})


async def fetch_file(client: AsyncClient, store: MediaStore, fetch: Fetch, media: Media) -> Media:
    """One try: the media with its bytes stored (images cleaned), or with a note saying why
    not. Raises TransientError when the homeserver fails for now (5xx, 429)."""
    response = await client.download(mxc=fetch.url)
    if not isinstance(response, MemoryDownloadResponse):
        status = getattr(response.transport_response, "status", None)
        if isinstance(response, DownloadError) and (status is None or status >= 500 or
                                                    status == 429):  # fmt: skip
            raise TransientError(f"download failed ({status})")
        return media.model_copy(update={"note": media_note.GONE})
    data = response.body
    if fetch.file is not None:
        try:
            data = decrypt_attachment(
                data, fetch.file["key"]["k"], fetch.file["hashes"]["sha256"], fetch.file["iv"]
            )
        except (EncryptionError, KeyError, TypeError, ValueError):
            return media.model_copy(update={"note": media_note.UNDECRYPTABLE})
    return await store.take(media, data)
