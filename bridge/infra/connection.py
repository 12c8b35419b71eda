"""The connection to Redis: a given URL, a Sentinel-watched master, or the embedded default."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.sentinel import Sentinel
from redis.connection import HiredisRespSerializer
from redis.exceptions import AuthenticationError, RedisError
from redis.utils import HIREDIS_AVAILABLE

from bridge.config import redis_url
from bridge.config.models import RedisConfig
from bridge.infra.bus import require_replicas
from bridge.infra.embedded_redis import MIN_VERSION, EmbeddedRedis
from bridge.model.errors import ServiceUnavailable

log = logging.getLogger(__name__)


_FAST: dict[type, type] = {}


def _hiredis_packing(cls: type[AbstractConnection]) -> type[AbstractConnection]:
    """``cls`` packing commands with hiredis's C packer (redis-py's own HiredisRespSerializer)
    instead of the asyncio client's pure-Python one: 27 us -> 7 us for a relay commit."""
    if not HIREDIS_AVAILABLE:
        return cls
    if cls not in _FAST:
        serializer = HiredisRespSerializer()

        def pack_command(self: AbstractConnection, *args: Any) -> list[bytes]:
            return serializer.pack(*args)

        _FAST[cls] = type(f"Hiredis{cls.__name__}", (cls,), {"pack_command": pack_command})
    return _FAST[cls]


def fast(client: Redis) -> Redis:
    """The same client, packing commands with hiredis (before it opens any connection)."""
    pool = client.connection_pool
    pool.connection_class = _hiredis_packing(pool.connection_class)
    return client


MAX_CONNECTIONS = 256  # per process; more commands at once wait for a free connection


def make_client(url: str, **kwargs: Any) -> Redis:
    """A client for ``url`` as translocal uses Redis everywhere: strings in and out.

    Its pool blocks when all connections are busy (redis-py's default pool raises instead,
    and a deliverer with hundreds of chats in flight would fail to record deliveries)."""
    pool = BlockingConnectionPool.from_url(
        url, decode_responses=True, max_connections=MAX_CONNECTIONS, timeout=None, **kwargs
    )
    return fast(Redis.from_pool(pool))


def safe_url(url: str) -> str:
    """The URL with its password replaced, for messages and logs (any character in it)."""
    return redis_url.safe(url)


class _Sentinels(Sentinel):
    """redis-py's Sentinel, its list of Sentinels kept whole under concurrent discovery.

    ``discover_master`` moves the Sentinel that named the master to the front by an index it
    read before awaiting the answer. Every new connection to the master runs a discovery (a
    failover opens dozens at once), and a discovery that finishes after another one has
    reordered the list writes with a stale index: one Sentinel ends up twice, another not at
    all, never asked again (the bridge loses the master when the Sentinels left in the list
    are down) and its connections never closed. The list is mended right after each
    discovery, before any other task runs: each Sentinel once, the answering one first.
    """

    def __init__(self, hosts: list[tuple[str, int]], **kwargs: Any) -> None:
        super().__init__(hosts, **kwargs)
        self.watchers: tuple[Redis, ...] = tuple(self.sentinels)  # every one, once

    async def discover_master(self, service_name: str) -> Any:
        try:
            return await super().discover_master(service_name)
        finally:
            kept = {id(w): w for w in self.sentinels}  # in order, each once
            self.sentinels[:] = [*kept.values(), *(w for w in self.watchers if id(w) not in kept)]


@dataclass
class RedisHandle:
    client: Redis
    where: str  # a description safe to print
    version: str
    embedded: EmbeddedRedis | None = None
    # the clients of the Sentinels as created (not the list discovery reorders): all close
    watchers: tuple[Redis, ...] = ()

    async def close(self) -> None:
        """Close the client, each Sentinel client and the embedded server, each even when
        closing another one failed (no socket is left for the garbage collector)."""
        try:
            await self.client.aclose()
        finally:
            try:
                for watcher in self.watchers:
                    with contextlib.suppress(RedisError, OSError):
                        await watcher.aclose()
            finally:
                if self.embedded is not None:
                    await asyncio.to_thread(self.embedded.stop)


async def open_redis(cfg: RedisConfig, data_dir: Path) -> RedisHandle:
    """Connect (starting the embedded server when no url or sentinel is given) and check it.

    Raises ServiceUnavailable when Redis cannot be reached, refuses the credentials, or is
    older than 6.2.
    """
    embedded: EmbeddedRedis | None = None
    watchers: tuple[Redis, ...] = ()
    if cfg.sentinel is not None:
        s = cfg.sentinel
        password = s.password.get_secret_value() if s.password else None
        hosts = [(h.rpartition(":")[0], int(h.rpartition(":")[2])) for h in s.hosts]
        sentinel = _Sentinels(
            hosts,
            sentinel_kwargs={"password": password, "socket_timeout": 5},
            password=password,
            socket_timeout=5,
        )
        client: Redis = fast(
            sentinel.master_for(
                s.master, decode_responses=True, max_connections=4 * MAX_CONNECTIONS
            )
        )
        where = f"sentinel master {s.master!r} via {', '.join(s.hosts)}"
        watchers = sentinel.watchers
    elif cfg.url:  # its password percent-encoded by the config (any character works)
        client = make_client(redis_url.normalize(cfg.url), socket_connect_timeout=5)
        where = safe_url(cfg.url)
    else:
        embedded = EmbeddedRedis(data_dir)
        await asyncio.to_thread(embedded.start)
        client = make_client(embedded.url)
        where = f"embedded ({embedded.directory})"
    handle = RedisHandle(client, where, "", embedded, watchers)  # closes all on a failure
    try:
        info = await client.info("server")
    except AuthenticationError:
        await handle.close()
        raise ServiceUnavailable(f"redis at {where} refused the credentials") from None
    except (RedisError, OSError) as exc:
        await handle.close()
        raise ServiceUnavailable(f"redis at {where} is unreachable: {exc}") from None
    handle.version = str(info.get("redis_version", "0"))
    if tuple(int(p) for p in handle.version.split(".")[:2]) < MIN_VERSION:
        await handle.close()
        raise ServiceUnavailable(
            f"redis at {where} is {handle.version}; translocal needs 6.2 or newer"
        )
    log.info("redis %s at %s", handle.version, where)
    require_replicas(client, cfg.replicas_to_ack, cfg.replica_ack_timeout_ms)
    return handle
