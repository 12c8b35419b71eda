"""Matrix: the bot's settings and the platform's facts; the bot is in matrix_bot.py."""

from __future__ import annotations

import re
from typing import Literal, cast

from pydantic import Field, field_validator, model_validator

from bridge.model.platforms import Platform, RoomCheck, register
from bridge.model.ports import Bot, BotContext
from bridge.model.settings import BotSettings, RoomConfig, Secret


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
    # room ids carry their server before room version 12 (!id:server), not since (!id)
    if re.fullmatch(r"![^:\s]+(?::\S+)?|#[^:\s]+:\S+", chat):
        return None
    return f"{chat!r} is not a Matrix room id (!id or !id:server) or alias (#alias:server)"


def _make(ctx: BotContext) -> Bot:
    from bots.matrix.bot import MatrixBot  # matrix-nio only when running

    settings = cast(MatrixSettings, ctx.settings)
    return MatrixBot(ctx, sync_timeout_ms=settings.sync_timeout_ms, max_upload=settings.max_upload)


async def _check(settings: BotSettings, rooms: list[RoomConfig]) -> list[RoomCheck]:
    from bots.matrix.check import check_rooms

    return await check_rooms(settings, rooms)


PLATFORM = register(
    Platform(
        name="matrix",
        settings=MatrixSettings,
        check_chat=check_chat,
        encryption=True,
        identity=lambda s: f"matrix:{s.user_id}",  # type: ignore[attr-defined]
        factory=lambda ctx: _make(ctx),
        check_rooms=lambda settings, rooms: _check(settings, rooms),
    )
)
