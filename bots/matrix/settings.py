"""A Matrix bot's settings, and the sizes the adapter holds to; no client library here.

Its own module so that the package's ``__init__`` (the registration), the bot and the room
check all read one model without importing each other: ``__init__`` imports this module, and
nothing here imports ``__init__`` back.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from bridge.model.settings import BotSettings, Secret

# The largest file the bot takes in or carries out, in bytes (the platform's ``max_file``):
# 20 MB, what the bridge carries between platforms. The homeserver's own upload limit, and
# ``max_upload``, apply on top when the bot uploads.
MAX_FILE = 20 * 1024 * 1024

# The longest call-out text a Matrix room takes, in UTF-8 bytes: an event is at most 65,536
# bytes, and the JSON, the HTML and the heading around the body need the rest.
TEXT_LIMIT_BYTES = 60_000


class MatrixSettings(BotSettings):
    platform: Literal["matrix"]
    homeserver: str
    user_id: str = Field(pattern=r"^@[^:\s]+:\S+$")
    password: Secret | None = None
    access_token: Secret | None = None
    device_name: str = Field(default="translocal", min_length=1, max_length=100)
    # the largest file the bot uploads, in bytes; the homeserver's own limit applies anyway
    max_upload: int | None = Field(default=None, ge=1)
    # how long one sync waits on the homeserver for news (long polling), in milliseconds
    sync_timeout_ms: int = Field(default=30_000, ge=0, le=120_000)
    # how long a message's file is tried (with backoff) before the message crosses with a
    # note instead, in seconds: one event never holds up the others for longer
    file_retry_s: float = Field(default=60.0, ge=0, le=600)

    @field_validator("homeserver")
    @classmethod
    def _homeserver(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _one_credential(self) -> MatrixSettings:
        if self.password is None and self.access_token is None:
            raise ValueError("give password or access_token")
        return self
