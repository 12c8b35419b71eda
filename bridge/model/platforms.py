"""Platform registry: each adapter in ``bots/`` registers its name and settings model here.

Adding a platform is one new module in ``bots/`` that calls ``register``. The bridge never
imports an adapter by name: ``platforms()`` imports every module of the adapter package once,
lazily, the first time the registry is consulted (the composition-root exception in design.md).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bridge.config.models import BotSettings, RoomConfig
from bridge.model.ports import BotFactory

ADAPTER_PACKAGE = "bots"


@dataclass(frozen=True)
class RoomCheck:
    """What `translocal check` found for one room; ``detail`` says how to fix a failure."""

    room: str
    ok: bool
    detail: str


RoomChecker = Callable[[BotSettings, list[RoomConfig]], Awaitable[list[RoomCheck]]]


@dataclass(frozen=True)
class Platform:
    """What the bridge knows of a platform without knowing its client library."""

    name: str
    settings: type[BotSettings]
    # one line saying why ``chat`` is not a chat id of this platform, or None when it is one
    check_chat: Callable[[str], str | None]
    # the reactions a member can give, when the platform has a fixed set (Telegram); None: any
    reactions: frozenset[str] | None = None
    # whether a room may name a forum topic
    topics: bool = False
    # rooms can be end-to-end encrypted; the adapter keeps the set of encrypted chats in
    # keys.bot_state(bot, "encrypted"), and the relay keeps encrypted threads inside them
    encryption: bool = False
    # the sender id ("<platform>:<user id>") the bot itself posts as, so its copies never loop
    identity: Callable[[BotSettings], str | None] = lambda _settings: None
    # builds the adapter; None while the platform's adapter is not built
    factory: BotFactory | None = None
    # checks a bot's rooms for `translocal check`; None: the platform cannot check yet
    check_rooms: RoomChecker | None = None
    extra: dict[str, object] = field(default_factory=dict)


_REGISTRY: dict[str, Platform] = {}
_loaded = False


def register(platform: Platform) -> Platform:
    existing = _REGISTRY.get(platform.name)
    if existing is not None and existing.settings is not platform.settings:
        raise RuntimeError(f"platform {platform.name!r} is registered twice")
    _REGISTRY[platform.name] = platform
    return platform


def platforms() -> dict[str, Platform]:
    global _loaded
    if not _loaded:
        package = importlib.import_module(ADAPTER_PACKAGE)
        for info in pkgutil.iter_modules(package.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{ADAPTER_PACKAGE}.{info.name}")
        _loaded = True
    return dict(_REGISTRY)
