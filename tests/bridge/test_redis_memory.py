"""The embedded Redis has a memory ceiling and never evicts; `check` warns near the ceiling."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bridge.check import run_check
from bridge.config.load import load_config
from bridge.infra.embedded_redis import EmbeddedRedis
from tests.helpers import write_config


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "data")
    server.start()
    yield server
    server.stop()


def test_the_embedded_redis_refuses_writes_when_full_instead_of_evicting(
    own_redis: EmbeddedRedis,
) -> None:
    client = redis.Redis.from_url(own_redis.url)
    try:
        assert client.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
        assert int(client.config_get("maxmemory")["maxmemory"]) > 0
        client.set("tl:lease:inbox:0", "worker")  # what eviction would silently take away
        used = int(client.info("memory")["used_memory"])
        client.config_set("maxmemory", used + 200_000)
        refused = None
        for i in range(1000):
            try:
                client.set(f"tl:media:{i}", b"x" * 10_000)
            except redis.exceptions.OutOfMemoryError as exc:
                refused = exc
                break
        assert refused is not None, "a write past maxmemory was taken"
        assert client.get("tl:lease:inbox:0") == b"worker"  # nothing was evicted
    finally:
        client.flushall()
        client.close()


async def test_check_warns_when_redis_memory_is_near_its_ceiling(
    own_redis: EmbeddedRedis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = {
        "data_dir": str(tmp_path / "data"),  # the embedded server: check joins own_redis
        "bots": [{"id": "a", "platform": "memory"}],
        "rooms": [{"id": "cdmx", "bot": "a", "chat": "a1", "language": "es", "label": "CDMX"}],
    }
    loaded = load_config(write_config(tmp_path / "c.yaml", cfg), env={})
    client = redis.Redis.from_url(own_redis.url)
    try:
        used = int(client.info("memory")["used_memory"])
        client.config_set("maxmemory", int(used / 0.9))  # 90% used
        code = await run_check(loaded)
    finally:
        client.close()
    out = capsys.readouterr().out
    memory = [line for line in out.splitlines() if line.startswith("redis memory")]
    assert memory, out
    assert "warning" in memory[0]
    assert "noeviction" in memory[0] or "%" in memory[0]
    assert code == 0  # a warning, not a failure
