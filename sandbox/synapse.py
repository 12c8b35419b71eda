"""A real Synapse homeserver on 127.0.0.1, for tests, benchmarks and the demo.

`SynapseServer(directory)` writes a loopback-only config (client listener, SQLite, no
federation, presence off, every rate limit raised), a signing key and a log config into
`directory`, starts `python -m synapse.app.homeserver` in its own session and waits until
`/_matrix/client/versions` answers. The secrets (registration shared secret, macaroon and form
secrets) are random per directory, written once to `secrets.json` and reused on restart, as is
the SQLite database: stopping and starting again on the same directory keeps users and rooms.
`register()` creates users through the shared-secret admin API, `login()` returns a token.

Run it alone with `python -m sandbox.synapse --dir DIR [--port 8008]`.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import httpx
import yaml
from signedjson.key import generate_signing_key, write_signing_keys

log = logging.getLogger(__name__)

SERVER_NAME = "localhost"
_RELAXED = {"per_second": 1000, "burst_count": 10000}
_RATE_LIMITS: dict[str, Any] = {
    "rc_message": _RELAXED,
    "rc_registration": _RELAXED,
    "rc_login": {"address": _RELAXED, "account": _RELAXED, "failed_attempts": _RELAXED},
    "rc_joins": {"local": _RELAXED, "remote": _RELAXED},
    "rc_joins_per_room": _RELAXED,
    "rc_invites": {"per_room": _RELAXED, "per_user": _RELAXED, "per_issuer": _RELAXED},
    "rc_room_creation": _RELAXED,
    "rc_admin_redaction": _RELAXED,
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _private(path: Path, exclusive: bool = False) -> TextIO:
    """Open `path` for writing, readable by this user only."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    return os.fdopen(os.open(path, flags, 0o600), "w")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


class SynapseServer:
    """One Synapse process serving `directory` on 127.0.0.1:`port` (0 picks a free port, kept
    for restarts). `pause()`/`resume()` freeze and thaw it (SIGSTOP/SIGCONT: clients hang);
    `stop()` then `start()` takes it down and back up with the same data (clients get refused)."""

    server_name = SERVER_NAME

    def __init__(self, directory: Path, port: int = 0) -> None:
        self.directory = Path(directory).resolve()
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = self.directory / "homeserver.yaml"
        self.output_path = self.directory / "synapse.out"  # the process's stdout and stderr
        self.log_path = self.directory / "homeserver.log"  # Synapse's own log (WARNING and up)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id while running, else None."""
        return self._process.pid if self._process and self._process.poll() is None else None

    @property
    def _secrets(self) -> dict[str, str]:
        """This directory's secrets, made on the first start."""
        secrets_: dict[str, str] = json.loads((self.directory / "secrets.json").read_text())
        return secrets_

    async def start(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109 -- a startup budget
        """Write the config (first time only for secrets and key), start Synapse, wait for it."""
        if self.pid is not None:
            return
        self._write_files()
        self._process = self._spawn()
        atexit.register(self._kill)  # never leave an orphan if the caller forgets stop()
        started = time.monotonic()
        deadline = started + timeout
        async with httpx.AsyncClient(trust_env=False, timeout=2) as http:
            while True:
                if self._process.poll() is not None:
                    await self.stop()
                    raise RuntimeError(f"Synapse exited early:\n{self._logs()}")
                with contextlib.suppress(httpx.TransportError):
                    response = await http.get(f"{self.url}/_matrix/client/versions")
                    if response.status_code == 200:
                        break
                if time.monotonic() > deadline:
                    await self.stop()
                    raise RuntimeError(f"Synapse not ready after {timeout} s:\n{self._logs()}")
                await asyncio.sleep(0.1)
        elapsed = time.monotonic() - started
        log.info("Synapse ready at %s in %.1f s (pid %d)", self.url, elapsed, self._process.pid)

    async def stop(self, timeout: float = 15.0) -> None:  # noqa: ASYNC109 -- a grace period
        """SIGTERM the process group, wait up to `timeout`, then SIGKILL. Safe to repeat."""
        process, self._process = self._process, None
        if process is None:
            return
        atexit.unregister(self._kill)
        if process.poll() is None:
            self._signal(process, signal.SIGTERM)
            self._signal(process, signal.SIGCONT)  # a paused Synapse must wake to handle it
            try:
                await asyncio.to_thread(process.wait, timeout)
            except subprocess.TimeoutExpired:
                log.warning("Synapse (pid %d) ignored SIGTERM; killing it", process.pid)
                self._signal(process, signal.SIGKILL)
        await asyncio.to_thread(process.wait)  # reaps it; after SIGKILL only moments

    async def pause(self) -> None:
        """Freeze Synapse (SIGSTOP): connections are accepted by the kernel but never answered."""
        if self._process is not None:
            self._signal(self._process, signal.SIGSTOP)

    async def resume(self) -> None:
        """Thaw a paused Synapse (SIGCONT)."""
        if self._process is not None:
            self._signal(self._process, signal.SIGCONT)

    async def restart(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109 -- as start()
        """Stop and start again on the same directory and port."""
        await self.stop()
        await self.start(timeout)

    async def register(
        self, username: str, password: str, *, admin: bool = False, displayname: str | None = None
    ) -> str:
        """Create a user with the shared secret; return its id. An existing user is fine."""
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            nonce = (await http.get(endpoint)).raise_for_status().json()["nonce"]
            mac = hmac.new(self._secrets["registration"].encode(), digestmod=hashlib.sha1)
            for part in (nonce, username, password):
                mac.update(part.encode() + b"\x00")
            mac.update(b"admin" if admin else b"notadmin")
            body: dict[str, Any] = {
                "nonce": nonce,
                "username": username,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            }
            if displayname is not None:
                body["displayname"] = displayname
            response = await http.post(endpoint, json=body)
        user_id = f"@{username}:{SERVER_NAME}"
        if response.status_code == 400 and response.json().get("errcode") == "M_USER_IN_USE":
            return user_id
        if response.status_code != 200:
            raise RuntimeError(f"registering {username} failed: {response.status_code}")
        registered: str = response.json()["user_id"]
        return registered

    async def login(self, user_id: str, password: str) -> str:
        """Log in with a password; return the new device's access token."""
        body = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": user_id},
            "password": password,
        }
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            response = await http.post(f"{self.url}/_matrix/client/v3/login", json=body)
        if response.status_code != 200:
            raise RuntimeError(f"login of {user_id} failed: {response.status_code}")
        token: str = response.json()["access_token"]
        return token

    async def __aenter__(self) -> SynapseServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _write_files(self) -> None:
        directory = self.directory
        (directory / "media_store").mkdir(parents=True, exist_ok=True)
        secrets_path = directory / "secrets.json"
        if not secrets_path.exists():
            fresh = {
                name: secrets.token_urlsafe(32) for name in ("registration", "macaroon", "form")
            }
            with _private(secrets_path, exclusive=True) as f:
                json.dump(fresh, f)
        known = self._secrets
        key_path = directory / f"{SERVER_NAME}.signing.key"
        if not key_path.exists():
            with _private(key_path, exclusive=True) as f:
                write_signing_keys(f, [generate_signing_key("a")])
        log_config = {
            "version": 1,
            "formatters": {"precise": {"format": "%(asctime)s - %(name)s - %(lineno)d - "
                                                 "%(levelname)s - %(request)s - %(message)s"}},
            "handlers": {"file": {"class": "logging.FileHandler", "formatter": "precise",
                                  "filename": str(self.log_path), "encoding": "utf8"}},
            "root": {"level": "WARNING", "handlers": ["file"]},
            "loggers": {"synapse.storage.SQL": {"level": "WARNING"}},
            "disable_existing_loggers": False,
        }  # fmt: skip
        (directory / "log.config").write_text(yaml.safe_dump(log_config))
        config = {
            "server_name": SERVER_NAME,
            "public_baseurl": f"{self.url}/",
            "listeners": [{"port": self.port, "bind_addresses": ["127.0.0.1"], "type": "http",
                           "tls": False, "x_forwarded": False,
                           "resources": [{"names": ["client"], "compress": False}]}],
            "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
            "log_config": str(directory / "log.config"),
            "media_store_path": str(directory / "media_store"),
            "signing_key_path": str(key_path),
            "registration_shared_secret": known["registration"],
            "macaroon_secret_key": known["macaroon"],
            "form_secret": known["form"],
            "report_stats": False,
            "enable_registration": False,
            "federation_domain_whitelist": [],
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "presence": {"enabled": False},
            "bcrypt_rounds": 4,
            **_RATE_LIMITS,
        }  # fmt: skip
        with _private(self.config_path) as f:
            yaml.safe_dump(config, f, sort_keys=False)

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)]
        with self.output_path.open("ab") as output:
            return subprocess.Popen(  # noqa: S603 -- our own interpreter, fixed arguments
                command,
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: signals reach it all
            )

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._signal(self._process, signal.SIGKILL)
            self._process.wait()

    def _logs(self) -> str:
        return f"{_tail(self.output_path)}\n--- {self.log_path.name} ---\n{_tail(self.log_path)}"


async def _serve(args: argparse.Namespace) -> None:
    server = SynapseServer(Path(args.dir), args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        print(f"Synapse at {server.url} (server name {server.server_name!r})", flush=True)
        print("Register a user with:", flush=True)
        print(
            f"  {sys.executable} -m synapse._scripts.register_new_matrix_user"
            f" -c {server.config_path} {server.url}",
            flush=True,
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.synapse", description="A real Synapse on 127.0.0.1."
    )
    parser.add_argument("--dir", required=True, help="data directory (created; reused)")
    parser.add_argument("--port", type=int, default=8008)
    logging.basicConfig(level=logging.INFO)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
