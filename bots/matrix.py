"""Matrix adapter (matrix-nio 0.26). For now: its settings and platform facts.

The adapter itself (sync, encryption, delivery) lands with the Matrix issue.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bridge.config import BotSettings, Secret
from bridge.platforms import Platform, register


class MatrixSettings(BotSettings):
    platform: Literal["matrix"]
    homeserver: str
    user_id: str = Field(pattern=r"^@[^:\s]+:\S+$")
    password: Secret | None = None
    access_token: Secret | None = None
    device_name: str = Field(default="translocal", min_length=1, max_length=100)

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


def check_chat(chat: str) -> str | None:
    if re.fullmatch(r"[!#][^:\s]+:\S+", chat):
        return None
    return f"{chat!r} is not a Matrix room id (!id:server) or alias (#alias:server)"


PLATFORM = register(
    Platform(
        name="matrix",
        settings=MatrixSettings,
        check_chat=check_chat,
        encryption=True,
        identity=lambda s: f"matrix:{s.user_id}",  # type: ignore[attr-defined]
    )
)
