"""The Telegram bot: python-telegram-bot 22 inside translocal's own loop, no Updater.

``TelegramBot`` is the ``Bot`` the bridge drives (see bridge.model.ports): ``start`` connects
to the Bot API and begins taking updates, ``deliver`` hands a job to send.py, ``stop`` stops
taking updates, ``close`` releases the HTTP client once the deliverer has drained, and
``health`` says whether the Bot API answers.

- Updates come from our own get_updates loop (or a webhook, see webhook.py), each parsed alone
  (updates.py): one python-telegram-bot cannot read is skipped and acknowledged, never the
  end of the loop. The offset lives
  in Redis and advances only after the update's envelope is in the inbox (ingest.py makes the
  envelope): a crash re-reads, and the relay's idempotency (the envelope key is the update id)
  absorbs the repeat. A revoked token stops this bot alone, with a notice to the operator;
  a failing Bot API or Redis is retried with backoff.
- Deliveries are rendered as HTML (user content escaped), split at 4096 UTF-16 units, paced
  within Telegram's limits (limits.py); a 429 is waited out exactly as told (send.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

from redis.exceptions import RedisError
from telegram import Bot, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bots.telegram.commands import publish_commands
from bots.telegram.ingest import Reader
from bots.telegram.limits import Limiter
from bots.telegram.send import Sender
from bots.telegram.settings import TelegramSettings
from bots.telegram.updates import fetch, last_id, parse
from bots.telegram.webhook import WebhookListener, secret_for
from bridge.model import keys
from bridge.model.errors import ServiceUnavailable
from bridge.model.i18n import _
from bridge.model.media import MediaStore
from bridge.model.ports import BotContext, Job
from bridge.model.settings import RoomConfig

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "message_reaction", "my_chat_member", "poll"]


class TelegramBot:
    def __init__(self, ctx: BotContext[TelegramSettings]) -> None:
        settings = ctx.settings
        self.id = settings.id
        self.ctx = ctx
        self.poll_timeout = settings.poll_timeout
        base = settings.api_url
        token = settings.token.get_secret_value()
        self._updates_request = HTTPXRequest(read_timeout=self.poll_timeout + 10)  # updates.py
        self.bot = Bot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=HTTPXRequest(connection_pool_size=32, read_timeout=30, write_timeout=30),
            get_updates_request=self._updates_request,
        )
        media = MediaStore(ctx.redis, ctx.media_ttl_s)
        self.reader = Reader(self.bot, ctx, media)
        self.sender = Sender(self.bot, self.id, media, Limiter(settings.limits_scale))
        self._poller: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None  # leaves pending chats in time
        self.webhook: WebhookListener | None = None
        if settings.webhook_url:
            secret = secret_for(token)
            self.webhook = WebhookListener(self.id, settings.webhook_url,
                                           settings.webhook_listen, secret)  # fmt: skip
        self._trouble: str | None = None  # why the bot is not connected, for /healthz

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.bot.initialize()
        except InvalidToken:
            raise ServiceUnavailable(
                f"telegram bot {self.id}: the Bot API refused its token"
            ) from None
        except NetworkError as exc:
            raise ServiceUnavailable(
                f"telegram bot {self.id}: the Bot API is unreachable ({exc})"
            ) from None
        await self.reader.load()
        await publish_commands(self.bot, self.id, self.ctx.commands)  # the menu, per language
        self._sweeper = asyncio.create_task(self.reader.pending.sweep(),
                                            name=f"telegram-pending-{self.id}")  # fmt: skip
        if self.webhook is not None:
            await self._start_webhook(self.webhook)
            return
        await self._call_at_start(self.bot.delete_webhook())  # polling needs no webhook set
        self._poller = asyncio.create_task(self._poll(), name=f"telegram-poll-{self.id}")
        log.info("telegram bot %s (@%s) polling", self.id, self.reader.username)

    async def _start_webhook(self, webhook: WebhookListener) -> None:
        await webhook.start(self._take_json)
        try:
            setting = self.bot.set_webhook(
                webhook.url,
                allowed_updates=ALLOWED_UPDATES,
                max_connections=1,
                secret_token=webhook.secret,
            )
            await self._call_at_start(setting)
        except BaseException:
            await webhook.stop()
            raise
        log.info("telegram bot %s (@%s) takes updates by webhook", self.id, self.reader.username)

    async def _call_at_start(self, call: Awaitable[object]) -> None:
        try:
            await call
        except BadRequest as exc:
            raise ServiceUnavailable(f"telegram bot {self.id}: {exc.message}") from None
        except NetworkError as exc:
            raise ServiceUnavailable(
                f"telegram bot {self.id}: the Bot API is unreachable ({exc})"
            ) from None

    async def health(self) -> str | None:
        """None when connected to the Bot API (polling: its last getUpdates was answered);
        else why not, in one line, for /healthz."""
        return self._trouble

    async def stop(self) -> None:
        """Stop taking updates in; deliveries still being made go on (see close())."""
        if self.webhook is not None:  # the webhook stays set: Telegram keeps what comes
            await self.webhook.stop()
        sweeper, poller = self._sweeper, self._poller
        self._sweeper = self._poller = None
        for task in (sweeper, poller):
            while task is not None and not task.done():
                # redis-py can lose a cancellation that lands inside a command: ask again
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(asyncio.shield(task), 1.0)

    async def close(self) -> None:
        """Release the HTTP client, once the deliverers are done with it."""
        with contextlib.suppress(TelegramError):
            await self.bot.shutdown()

    async def serve(self, rooms: list[RoomConfig]) -> None:
        """Read the chats of ``rooms`` from now on, and no other (a chat no longer served
        is told so, and left, when it next speaks)."""
        chats = {r.chat for r in rooms}
        self.reader.chats.intersection_update(chats)  # in place: the pending side adds too
        self.reader.chats.update(chats)

    # ---- updates in --------------------------------------------------------------------

    async def _poll(self) -> None:
        offset_key = keys.bot_state(self.id, "offset")
        offset = int(await self.ctx.redis.get(offset_key) or 0)
        failures = 0
        while True:
            try:
                updates = await fetch(
                    self.bot, self._updates_request, offset, self.poll_timeout, ALLOWED_UPDATES
                )
                failures = 0
                self._trouble = None
            except InvalidToken:
                self._trouble = "Telegram refused the token; the bot stopped"
                log.error(  # noqa: TRY400 - the one line says it all
                    "telegram bot %s: the token was revoked; this bot stops", self.id
                )
                await self.ctx.notice(
                    _("Telegram bot {bot} stopped: Telegram refused its token (revoked?). "
                      "Nothing crosses into or out of its rooms until {setting} is updated "
                      "and translocal restarted. The other bots go on.",
                      bot=self.id, setting="bots[].token")
                )  # fmt: skip
                return
            except (NetworkError, TelegramError) as exc:
                failures += 1
                self._trouble = f"getUpdates failing ({type(exc).__name__})"
                wait = min(0.5 * 2**failures, 30.0)
                log.warning("telegram bot %s: getUpdates failed (%s); retry in %.0f s",
                            self.id, type(exc).__name__, wait)  # fmt: skip
                await asyncio.sleep(wait)
                continue
            try:
                for data in updates:
                    update = parse(self.id, data, self.bot)  # None: skipped, logged
                    if update is not None:
                        await self._take(update)
                last = last_id(updates)
                if last is not None:
                    await self.ctx.redis.set(offset_key, last + 1)
            except (RedisError, OSError) as exc:
                # the inbox is away (a Redis restart): the offset stays, Telegram gives the
                # same updates again, and those already in the inbox are recognised there
                failures += 1
                wait = min(0.5 * 2**failures, 30.0)
                log.warning("telegram bot %s: redis failed (%s); updates read again in %.0f s",
                            self.id, exc, wait)  # fmt: skip
                await asyncio.sleep(wait)
                continue
            if last is not None:
                offset = last + 1

    async def _take(self, update: Update) -> None:
        """Into the inbox, if it carries anything; returns once it is stored there."""
        try:
            envelope = await self.reader.envelope(update)
        except Exception:
            log.exception("telegram bot %s: update %d could not be read; skipped",
                          self.id, update.update_id)  # fmt: skip
            return
        if envelope is not None:
            await self.ctx.emit(envelope)

    async def _take_json(self, data: dict[str, object]) -> None:
        update = parse(self.id, data, self.bot)  # None: skipped, logged, answered 200
        if update is not None:
            await self._take(update)

    # ---- deliveries out ----------------------------------------------------------------

    async def deliver(self, job: Job) -> list[str]:
        return await self.sender.deliver(job, self.reader.target(job.delivery.chat))
