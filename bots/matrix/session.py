"""The Matrix bot's session: one device, kept across restarts, with its crypto store.

The first start with a password logs in and writes ``session.json`` (mode 0600) beside the
crypto store in ``data_dir/matrix/<bot id>/``: the device id, its access token and the key
that encrypts the store. Later starts restore that login, so the device (its encryption keys,
and the transaction ids the homeserver remembers for it) stays the same. A bot configured
with an access token asks the homeserver which device the token belongs to. Neither the
token nor the password is ever logged. ``token_trouble`` asks the homeserver, for /healthz,
whether it still answers and takes the token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
from pathlib import Path
from typing import Any

import httpx
from aiohttp import ClientError
from nio import AsyncClient, AsyncClientConfig, ErrorResponse, WhoamiResponse
from pydantic import SecretStr

from bots.matrix.settings import MatrixSettings
from bridge.model.errors import ServiceUnavailable
from bridge.model.redaction import add_secrets

log = logging.getLogger(__name__)

SESSION_FILE = "session.json"
REQUEST_TIMEOUT_S = 30.0
REFUSED = ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN")  # the codes of a token no longer taken


def client_config(*, encryption: bool = True) -> AsyncClientConfig:
    """nio's settings, its retries bounded: a 429 comes back at once (the adapter honours
    ``retry_after_ms`` itself), and a connection error is retried twice before it raises."""
    return AsyncClientConfig(
        max_limit_exceeded=0,
        max_timeouts=2,
        backoff_factor=0.2,
        max_timeout_retry_wait_time=5,
        request_timeout=REQUEST_TIMEOUT_S,
        encryption_enabled=encryption,
        store_sync_tokens=False,  # the sync token lives in Redis and moves after the inbox
    )


def store_dir(data_dir: Path, bot_id: str) -> Path:
    path = Path(data_dir) / "matrix" / bot_id
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)  # the crypto store and the session: this user's alone
    return path


def read_session(directory: Path) -> dict[str, str]:
    try:
        raw = json.loads((directory / SESSION_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def write_session(directory: Path, session: dict[str, str]) -> None:
    """Write atomically, readable by this user only."""
    tmp = directory / f".{SESSION_FILE}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(session, f)
    tmp.replace(directory / SESSION_FILE)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


async def open_client(settings: MatrixSettings, data_dir: Path) -> AsyncClient:
    """A logged-in client on the bot's one device, its crypto store loaded.

    Raises ServiceUnavailable when the homeserver is unreachable or refuses the credentials.
    """
    bot_id, user_id = settings.id, settings.user_id
    directory = store_dir(data_dir, bot_id)
    session = read_session(directory)
    if session.get("user_id") != user_id:
        session = {}
    pickle_key = session.get("pickle_key") or secrets.token_urlsafe(32)
    config = AsyncClientConfig(**{**client_config().__dict__, "pickle_key": pickle_key})
    client = AsyncClient(settings.homeserver, user_id, store_path=str(directory), config=config)
    try:
        await _log_in(client, settings, session, pickle_key, directory)
        if client.should_upload_keys:
            uploaded = await _call(client, bot_id, client.keys_upload)
            if isinstance(uploaded, ErrorResponse):  # encrypted rooms will say what fails
                log.warning("matrix bot %s: uploading its encryption keys failed (%s)",
                            bot_id, uploaded.status_code)  # fmt: skip
    except BaseException:
        await client.close()
        raise
    return client


async def _log_in(
    client: AsyncClient,
    settings: MatrixSettings,
    session: dict[str, str],
    pickle_key: str,
    directory: Path,
) -> None:
    bot_id, user_id = settings.id, settings.user_id
    password, configured_token = _secret(settings.password), _secret(settings.access_token)
    token = session.get("access_token") or configured_token
    device = session.get("device_id")
    if token:
        add_secrets([token])
        client.access_token = token
        whoami = await _call(client, bot_id, client.whoami)
        if isinstance(whoami, WhoamiResponse) and whoami.user_id == user_id:
            device_id = whoami.device_id or device
            if device_id:
                if device and device != device_id:
                    log.warning("matrix bot %s: its access token belongs to another device "
                                "than before; encryption starts afresh", bot_id)  # fmt: skip
                client.restore_login(user_id, device_id, token)
                kept = {"user_id": user_id, "device_id": device_id, "pickle_key": pickle_key}
                write_session(directory, {**session, **kept})
                log.info("matrix bot %s: logged in as %s (device %s)", bot_id, user_id, device_id)
                return
        if password is None:
            raise ServiceUnavailable(
                f"matrix bot {bot_id}: the homeserver refused its access token"
            )
    if password is None:
        raise ServiceUnavailable(f"matrix bot {bot_id}: no password or access token")
    login = await password_login(settings, device)
    if isinstance(login, str):
        raise ServiceUnavailable(
            f"matrix bot {bot_id}: the homeserver refused the login of {user_id} ({login})"
        )
    token, device_id = login
    add_secrets([token])
    client.restore_login(user_id, device_id, token)
    kept = {"user_id": user_id, "device_id": device_id, "pickle_key": pickle_key}
    write_session(directory, {**kept, "access_token": token})
    log.info("matrix bot %s: logged in as %s (device %s)", bot_id, user_id, device_id)


async def password_login(
    settings: MatrixSettings, device: str | None, device_name: str | None = None
) -> tuple[str, str] | str:
    """Log in with the password (on ``device`` again when known, so its keys stay valid):
    the access token and device id, or the refusal's error code.

    Done here rather than by nio, which logs every response it parses at DEBUG, the new
    access token included. Raises ServiceUnavailable when the homeserver is unreachable."""
    if settings.password is None:
        return "no password configured"
    body: dict[str, Any] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": settings.user_id},
        "password": settings.password.get_secret_value(),
        "initial_device_display_name": device_name or settings.device_name,
    }
    if device:
        body["device_id"] = device
    try:
        async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S) as http:
            response = await http.post(f"{settings.homeserver}/_matrix/client/v3/login", json=body)
    except httpx.HTTPError as exc:
        raise ServiceUnavailable(
            f"matrix bot {settings.id}: the homeserver {settings.homeserver} is unreachable "
            f"({type(exc).__name__})"
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code != 200 or not isinstance(answer, dict):
        code = answer.get("errcode") if isinstance(answer, dict) else None
        return str(code or response.status_code)
    token, device_id = answer.get("access_token"), answer.get("device_id")
    if not isinstance(token, str) or not isinstance(device_id, str):
        return "no access token in the answer"
    return token, device_id


async def token_trouble(homeserver: str, token: str, wait_s: float) -> str | None:
    """None when the homeserver answers and takes the token; else why not, in one line that
    holds neither the token nor a body. A ``whoami`` on an HTTP client of its own, within
    ``wait_s`` in all, so that a long-polling sync never delays the answer."""
    url = f"{homeserver}/_matrix/client/v3/account/whoami"
    try:
        async with asyncio.timeout(wait_s), httpx.AsyncClient(timeout=wait_s) as http:
            answer = await http.get(url, headers={"Authorization": f"Bearer {token}"})
    except (httpx.HTTPError, TimeoutError) as exc:
        return f"homeserver not answering ({type(exc).__name__})"
    if answer.status_code in (200, 429):  # 429: it answers, and asks for patience
        return None
    try:
        found = answer.json()
    except ValueError:
        found = None
    code = found.get("errcode") if isinstance(found, dict) else None
    if answer.status_code == 401 or code in REFUSED:
        return "the homeserver refused the bot's access token"
    if answer.status_code >= 500:
        return f"homeserver failing ({answer.status_code})"
    return f"the homeserver answered whoami with {answer.status_code}"


async def _call(client: AsyncClient, bot_id: str, method: Any, *args: Any) -> Any:
    """One start-up request; unreachable homeserver -> ServiceUnavailable."""
    try:
        return await method(*args)
    except (ClientError, TimeoutError, OSError) as exc:
        raise ServiceUnavailable(
            f"matrix bot {bot_id}: the homeserver {client.homeserver} is unreachable "
            f"({type(exc).__name__})"
        ) from None
