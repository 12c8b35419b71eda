"""The Bot API's method registry and what every method shares: the world, the flood limits,
webhook delivery and the record of state-changing calls.

Methods register under their Bot API name with `@method("sendMessage")`; lookup is
case-insensitive, as Telegram's is.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sandbox.telegram.limits import RateLimiter
from sandbox.telegram.model import BotState, Chat
from sandbox.telegram.params import Params
from sandbox.telegram.webhook import Webhooks
from sandbox.telegram.world import ApiError, World


@dataclass(frozen=True)
class Call:
    """A bot API call that changed something, or fetched a file (getFile), recorded once it
    succeeded."""

    method: str
    bot_id: int
    chat_id: int | None
    message_id: int | None
    at: float  # server time (unix seconds, moved by the clock)
    monotonic: float  # time.monotonic(), for measuring pacing


@dataclass
class Api:
    """What a method acts on."""

    world: World
    limiter: RateLimiter
    webhooks: Webhooks
    calls: list[Call] = field(default_factory=list)
    closing: bool = False

    def pace(self, state: BotState, chat: Chat) -> None:
        """Counts one send against the flood limits, or refuses it with 429."""
        retry_after = self.limiter.check(state.account.id, chat.id, group=chat.id < 0)
        if retry_after:
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )

    def record(
        self, method: str, state: BotState, chat_id: int | None, message_id: int | None = None
    ) -> None:
        self.calls.append(
            Call(method, state.account.id, chat_id, message_id, self.world.now(), time.monotonic())
        )


Handler = Callable[[Api, BotState, Params], object]
AsyncHandler = Callable[[Api, BotState, Params], Awaitable[object]]

METHODS: dict[str, Handler] = {}
ASYNC_METHODS: dict[str, AsyncHandler] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    """Registers a Bot API method implementation."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = handler
        return handler

    return register


def async_method(name: str) -> Callable[[AsyncHandler], AsyncHandler]:
    """Registers a Bot API method that waits (getUpdates)."""

    def register(handler: AsyncHandler) -> AsyncHandler:
        ASYNC_METHODS[name.lower()] = handler
        return handler

    return register


def constant(name: str, value: object) -> None:
    """Registers a method that is accepted and answers `value` (sendChatAction, logOut...)."""
    METHODS[name.lower()] = lambda api, state, params: value
