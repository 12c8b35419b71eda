"""Redis key names. Every key translocal writes is built here, under one prefix."""

from __future__ import annotations

PREFIX = "tl:"

SCHEMA = f"{PREFIX}schema"  # the layout version of everything under the prefix
SCHEMA_LOCK = f"{PREFIX}schema:lock"
META = f"{PREFIX}meta"  # hash: created_at, created_by (translocal version)

# The bus
RELAY_GROUP = "relay"
DELIVER_GROUP = "deliver"


def inbox(shard: int) -> str:
    return f"{PREFIX}inbox:{shard}"


def outbox(bot: str) -> str:
    return f"{PREFIX}outbox:{bot}"


DEAD_LETTERS = f"{PREFIX}deadletter"


def lease(name: str) -> str:
    return f"{PREFIX}lease:{name}"


RELAY_WORKERS = f"{PREFIX}relay:workers"  # zset: worker id -> last heartbeat (ms)


# Idempotency and the message map (ids only, never text)
def seen(envelope_key: str) -> str:
    """Set once an inbound envelope has been relayed."""
    return f"{PREFIX}seen:{envelope_key}"


def sent(delivery_key: str) -> str:
    """The ids of a delivered copy, set once it is sent."""
    return f"{PREFIX}sent:{delivery_key}"


def origin(room: str, message_id: str) -> str:
    """Hash: one field per target room -> its copy's ids; ``.sender``, ``.root``, ``.ts``."""
    return f"{PREFIX}map:o:{room}:{message_id}"


def copy(room: str, message_id: str) -> str:
    """A copy's origin, as ``<room>/<message id>``."""
    return f"{PREFIX}map:c:{room}:{message_id}"


def notified(what: str) -> str:
    """Set while a notice about ``what`` was given, so that it is given once."""
    return f"{PREFIX}notified:{what}"


def media(digest: str) -> str:
    """The bytes of a carried file (images already cleaned), by their SHA-256."""
    return f"{PREFIX}media:{digest}"


TRANSLATION_CACHE = f"{PREFIX}tcache:"  # + provider:source:target:hash, and tag:<message>


def bot_state(bot: str, name: str) -> str:
    """An adapter's own small state (Telegram's update offset, Matrix's sync token, ...)."""
    return f"{PREFIX}bot:{bot}:{name}"
