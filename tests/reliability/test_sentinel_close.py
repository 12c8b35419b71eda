"""The bridge's connections to the Sentinels close with it, whatever discovery did meanwhile.

Every new connection to the master asks the Sentinels where it is (a failover opens dozens
at once). redis-py moves the Sentinel that answered to the front of its list by an index it
read before waiting for the answer, so two discoveries at once, the first Sentinel not
naming the master (as during a failover), leave one Sentinel twice in the list and another
not at all: a Sentinel the bridge never asks again, and whose open connections nothing
closes (a CI run ended with 8 "unclosed Connection" ResourceWarnings at garbage
collection). These tests make that happen on a real cluster (bench/sentinel_env.py).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bench.sentinel_env import MASTER, SentinelCluster
from bridge.infra.connection import RedisHandle, open_redis
from bridge.model.errors import ServiceUnavailable
from tests.harness import memory_config

CONCURRENT = 8  # commands at once, each on a new connection, so each one runs a discovery


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SentinelCluster]:
    with SentinelCluster(tmp_path / "redis", down_after_ms=1000) as found:
        yield found


def _sentinel(cluster: SentinelCluster, i: int) -> redis.Redis:
    return redis.Redis(port=cluster.sentinel_ports[i], decode_responses=True, socket_timeout=2)


def bridge_clients(cluster: SentinelCluster, i: int) -> int:
    """The connections Sentinel ``i`` holds that last asked for the masters (the bridge's
    discovery; the other Sentinels' links and this check's own connection ask otherwise)."""
    with _sentinel(cluster, i) as s:
        return sum(1 for c in s.client_list() if c["cmd"] in ("sentinel|masters", "sentinel"))


async def open_and_discover(cluster: SentinelCluster, tmp_path: Path) -> RedisHandle:
    """The bridge connected through the three Sentinels, then the first one made to forget
    the master while ``CONCURRENT`` commands each open a new connection."""
    hosts = {"master": MASTER, "hosts": cluster.sentinel_hosts}
    cfg = memory_config(tmp_path, "", redis={"sentinel": hosts}).config.redis
    handle = await open_redis(cfg, tmp_path / "data")
    with _sentinel(cluster, 0) as first:
        first.sentinel_remove(MASTER)
    await asyncio.gather(*(handle.client.ping() for _ in range(CONCURRENT)))
    return handle


async def test_closing_the_bridge_closes_every_sentinel_connection(
    tmp_path: Path, cluster: SentinelCluster
) -> None:
    handle = await open_and_discover(cluster, tmp_path)
    assert bridge_clients(cluster, 0) > 0  # the forgetful Sentinel was asked, on open sockets
    await handle.close()
    left = [bridge_clients(cluster, i) for i in range(3)]
    assert left == [0, 0, 0], f"connections the bridge left open at each Sentinel: {left}"
    gc.collect()  # an unclosed connection collected here fails the test (filterwarnings)


async def test_every_sentinel_is_still_asked_after_concurrent_discoveries(
    tmp_path: Path, cluster: SentinelCluster
) -> None:
    handle = await open_and_discover(cluster, tmp_path)
    try:
        with _sentinel(cluster, 0) as first:  # it knows the master again ...
            first.sentinel_monitor(MASTER, "127.0.0.1", cluster.ports["a"], 2)
        cluster.kill("sentinel-1")  # ... and is the only Sentinel left
        cluster.kill("sentinel-2")
        await handle.client.connection_pool.disconnect()  # the next command reconnects
        assert await handle.client.ping()
    finally:
        await handle.close()


async def test_a_failed_start_closes_its_sentinel_connections(tmp_path: Path) -> None:
    # the Sentinels go on naming the killed primary for a minute: the start fails on it
    with SentinelCluster(tmp_path / "redis", down_after_ms=60_000) as cluster:
        cluster.kill("a")
        hosts = {"master": MASTER, "hosts": cluster.sentinel_hosts}
        cfg = memory_config(tmp_path, "", redis={"sentinel": hosts}).config.redis
        with pytest.raises(ServiceUnavailable, match="is unreachable"):
            await open_redis(cfg, tmp_path / "data")
        left = [bridge_clients(cluster, i) for i in range(3)]
        assert left == [0, 0, 0], f"connections the failed start left open: {left}"
