"""Webhook delivery: while a bot has a webhook, its updates are POSTed to the URL as JSON, one
update per request, in order, with X-Telegram-Bot-Api-Secret-Token when a secret_token was set.
An update leaves the queue once the webhook answers 2xx; any other answer, or a connection that
fails, is recorded (getWebhookInfo's last_error_date / last_error_message) and the same update
is tried again after `retry` seconds, so order is kept.

Nothing leaves this machine. setWebhook takes https:// URLs, as Telegram does, and http:// ones
too, but only on 127.0.0.1, ::1 or localhost; the client resolves names to loopback addresses
only, follows no redirect and uses no proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from sandbox.telegram.model import BotState, Webhook
from sandbox.telegram.world import World, bad_request

log = logging.getLogger("sandbox.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def check_url(url: str) -> None:
    """Refuses a webhook URL the sandbox would not call (anything off this machine)."""
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port  # a malformed port raises ValueError
    except ValueError:
        raise bad_request("bad webhook: Failed to parse the URL") from None
    if parts.scheme not in ("http", "https"):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if host not in LOOPBACK_HOSTS:
        if parts.scheme == "http":
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        raise bad_request(
            "bad webhook: this sandbox delivers webhooks only to 127.0.0.1, ::1 or localhost"
        )


class LoopbackResolver(AbstractResolver):
    """Resolves a host name to its loopback addresses only; no other address is ever used."""

    def __init__(self) -> None:
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        kept = [r for r in found if ipaddress.ip_address(r["host"].split("%")[0]).is_loopback]
        if not kept:
            raise OSError(f"{host} is not a loopback address")
        return kept

    async def close(self) -> None:
        await self._inner.close()


class Webhooks:
    """One delivery task per bot with a webhook, and the HTTP client they share."""

    def __init__(self, world: World, *, retry: float = 3.0, timeout: float = 60.0) -> None:
        self.world = world
        self.retry = retry  # seconds between tries of an update that failed
        self.timeout = timeout  # seconds a webhook may take to answer
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._serving = False  # between resume() and close()

    def follow(self, state: BotState) -> None:
        """Starts delivering a bot's updates to its webhook (call with the loop running)."""
        running = self._tasks.get(state.account.id)
        if not self._serving or state.webhook is None or (running and not running.done()):
            return
        task = asyncio.get_running_loop().create_task(
            self._push(state, state.webhook), name=f"webhook of bot {state.account.id}"
        )
        self._tasks[state.account.id] = task
        task.add_done_callback(self._ended)

    def resume(self) -> None:
        """Starts delivery for every bot that has a webhook (after the server starts)."""
        self._serving = True
        for state in self.world.bots.values():
            self.follow(state)

    async def stop(self, state: BotState) -> None:
        """Stops delivering a bot's updates; an update in flight stays queued."""
        await self._cancel(state.account.id)

    async def close(self) -> None:
        """Stops every delivery and closes the HTTP client (until resume())."""
        self._serving = False
        for bot_id in list(self._tasks):
            await self._cancel(bot_id)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _cancel(self, bot_id: int) -> None:
        task = self._tasks.pop(bot_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("webhook delivery stopped", exc_info=task.exception())

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=LoopbackResolver()), trust_env=False
            )
        return self._session

    async def _push(self, state: BotState, hook: Webhook) -> None:
        while state.webhook is hook:
            if not state.updates:
                state.wakeup.clear()
                await state.wakeup.wait()
                continue
            update = state.updates[0]
            error = await self._deliver(hook, update)
            if error is None:
                if state.updates and state.updates[0] is update:
                    state.updates.popleft()
                continue
            hook.last_error_date = int(self.world.now())
            hook.last_error_message = error
            await asyncio.sleep(self.retry)

    async def _deliver(self, hook: Webhook, update: object) -> str | None:
        """POSTs one update; None if the webhook took it, else what went wrong."""
        check_url(hook.url)  # checked again before every call
        headers = {SECRET_HEADER: hook.secret_token} if hook.secret_token else {}
        try:
            async with self._client().post(
                hook.url,
                json=update,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                await response.read()
        except TimeoutError:
            return "Connection timed out"
        except aiohttp.ClientConnectorError:
            return "Connection refused"
        except aiohttp.ClientError:
            return "Connection reset by peer"
        if 200 <= response.status < 300:
            return None
        return f"Wrong response from the webhook: {response.status} {response.reason}"
