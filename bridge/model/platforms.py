"""Platform registry: what the bridge knows of each platform, declared by its adapter.

Each adapter package in ``bots/`` registers a ``Platform`` from its ``__init__`` (which must not
import its client library): its settings model and every platform fact the core needs, so
that nothing platform-specific is written in the core (person-id scheme, command prefixes,
text and file limits, the library's loggers and environment settings). Adding a platform is
one new package in ``bots/``.

The registry loads an adapter lazily, by name, only when something asks for that platform
(a configured bot, a person id of its scheme): ``load("telegram")`` imports
``bots.telegram`` and nothing else. A platform registered by other code (the tests' in-memory
one) is found without importing anything.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from bridge.model.ports import BotFactory
from bridge.model.settings import BotSettings, RoomConfig

ADAPTER_PACKAGE = "bots"


@dataclass(frozen=True)
class RoomCheck:
    """What `translocal check` found for one room; ``detail`` says how to fix a failure."""

    room: str
    ok: bool
    detail: str


RoomChecker = Callable[[BotSettings, list[RoomConfig]], Awaitable[list[RoomCheck]]]


@dataclass(frozen=True)
class SeenChat:
    """A chat a bot sees now, for `translocal discover`: what to paste as ``rooms[].chat``
    (and ``rooms[].topic``), and what a person knows it by. ``title`` and ``topic_name`` are
    whatever someone named the chat: untrusted text, which the CLI sanitizes before printing.
    A discoverer raises ServiceUnavailable (one line, no secret) when it cannot ask."""

    chat: str
    title: str
    kind: str  # the platform's word: "supergroup", "group", "private", "room"...
    topic: int | None = None
    topic_name: str | None = None
    encrypted: bool | None = None  # None: the platform has no encrypted rooms
    status: str = "member"  # "member", "invited" (not joined yet), "left"


ChatDiscoverer = Callable[[BotSettings], Awaitable[list[SeenChat]]]


@dataclass(frozen=True)
class TextLimit:
    """The longest text one message may carry, counted as the platform counts."""

    size: int
    unit: str  # for people: "UTF-16 units", "bytes", "characters"
    measure: Callable[[str], int] = len


def _any_person(who: str) -> str | None:
    return None if who.strip() == who and who else "is empty or has spaces around it"


@dataclass(frozen=True)
class Platform:
    """What the bridge knows of a platform without knowing its client library."""

    name: str
    settings: type[BotSettings]
    # one line saying why ``chat`` is not a chat id of this platform, or None when it is one
    check_chat: Callable[[str], str | None]
    # person ids in ``moderators``/``organizers`` are "<name>:<who>": None when ``who`` is a
    # user id of this platform, else one line saying why not; ``person_hint`` shows the shape
    check_person: Callable[[str], str | None] = _any_person
    person_hint: str = "<user id>"
    # how members type a command; the first is the one the bridge shows in help
    command_prefixes: tuple[str, ...] = ("/",)
    # the longest call-out text a room of this platform takes (room left for the heading)
    text_limit: TextLimit = TextLimit(4000, "characters")
    # the largest file the bridge takes in from, or carries to, this platform, in bytes
    max_file: int = 20 * 1024 * 1024
    # the client library's loggers: held at WARNING (they log bodies or URLs below it), and
    # those silenced entirely (they quote message bodies even at WARNING)
    quiet_loggers: tuple[str, ...] = ()
    silent_loggers: tuple[str, ...] = ()
    # environment settings the client library reads when it loads; set unless already set
    environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
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
    # lists the chats a bot sees now, for `translocal discover`; None: it cannot tell
    discover: ChatDiscoverer | None = None

    @property
    def command_prefix(self) -> str:
        return self.command_prefixes[0]

    def person(self, value: str) -> str | None:
        """None when ``value`` ("<name>:<who>") names a user of this platform, else why not."""
        _, _, who = value.partition(":")
        problem = self.check_person(who)
        return f"{value!r}: {problem}" if problem else None


_REGISTRY: dict[str, Platform] = {}


def register(platform: Platform) -> Platform:
    existing = _REGISTRY.get(platform.name)
    if existing is not None and existing.settings is not platform.settings:
        raise RuntimeError(f"platform {platform.name!r} is registered twice")
    _REGISTRY[platform.name] = platform
    return platform


def load(name: str) -> Platform | None:
    """The platform called ``name``, importing its adapter package the first time; None when
    no adapter of that name exists."""
    found = _REGISTRY.get(name)
    if found is not None:
        return found
    if not name.isidentifier() or name.startswith("_"):
        return None
    module = f"{ADAPTER_PACKAGE}.{name}"
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return None
    if spec is None:
        return None
    importlib.import_module(module)
    return _REGISTRY.get(name)


def command_prefix(name: str) -> str:
    """How members type a command to a bot of the platform ``name`` ("/" when none is)."""
    platform = load(name)
    return platform.command_prefix if platform is not None else "/"


def load_all(names: Iterable[str]) -> dict[str, Platform]:
    """The platforms of these names that exist, loading each adapter once."""
    found = {}
    for name in names:
        platform = load(name)
        if platform is not None:
            found[name] = platform
    return found


def loaded() -> dict[str, Platform]:
    """The platforms registered so far (nothing is imported)."""
    return dict(_REGISTRY)


def available() -> list[str]:
    """Every platform name that could be loaded: registered, or an adapter package."""
    import pkgutil

    package = importlib.import_module(ADAPTER_PACKAGE)
    names = {i.name for i in pkgutil.iter_modules(package.__path__) if not i.name.startswith("_")}
    return sorted(names | set(_REGISTRY))
