"""Linking a room from chat: ``link CODE <language> <label> [timezone]`` (issue 18).

``Linker`` answers a bot's ``LinkRequest`` (``BotContext.link``) from a chat the bot does not
serve yet. TO BE BUILT (helper): see docs/adding-a-city.md.
"""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio import Redis

from bridge.config.models import Config
from bridge.infra.links import LinkStore
from bridge.model.i18n import _
from bridge.model.links import LinkAnswer, LinkRequest


class Linker:
    def __init__(
        self, config: Config, redis: Redis, store: LinkStore, clock: Callable[[], float]
    ) -> None:
        self.config = config
        self.redis = redis
        self.store = store
        self.clock = clock

    async def __call__(self, request: LinkRequest) -> LinkAnswer:
        return LinkAnswer(_("This bridge does not link rooms from chat."), request.hint or "en")
