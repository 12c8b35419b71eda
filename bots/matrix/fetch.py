"""Files of Matrix messages, fetched into the media store (decrypted when they were sent
encrypted), and the error a homeserver's passing failure raises."""

from __future__ import annotations

from nio import AsyncClient, DownloadError, MemoryDownloadResponse
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError

from bots.matrix.ingest import Fetch
from bridge.model.envelope import Media
from bridge.model.media import MediaStore


class TransientError(Exception):
    """The homeserver failed for now: the sync's processing is tried again later."""


async def fetch_file(client: AsyncClient, store: MediaStore, fetch: Fetch, media: Media) -> Media:
    """The media with its bytes stored (images cleaned), or with a note saying why not.

    Raises TransientError when the homeserver fails for now (5xx, 429): nothing is lost, the
    sync is handled again."""
    response = await client.download(mxc=fetch.url)
    if not isinstance(response, MemoryDownloadResponse):
        status = getattr(response.transport_response, "status", None)
        if isinstance(response, DownloadError) and (status is None or status >= 500 or
                                                    status == 429):  # fmt: skip
            raise TransientError(f"download failed ({status})")
        return media.model_copy(update={"note": "not carried: the file is gone"})
    data = response.body
    if fetch.file is not None:
        try:
            data = decrypt_attachment(
                data, fetch.file["key"]["k"], fetch.file["hashes"]["sha256"], fetch.file["iv"]
            )
        except (EncryptionError, KeyError, TypeError, ValueError):
            return media.model_copy(update={"note": "not carried: could not be decrypted"})
    return await store.take(media, data)
