"""The composition root of a run: one owner of the lifecycle, with ordered start and stop.

Start: Redis (embedded or not), schema upgrade, then the parts of the role: deliverers, relay
worker, then the bots' ingress, so that every consumer is ready before anything comes in.
Stop (SIGINT/SIGTERM): the reverse: ingress first, then the relay, then the deliverers drain,
then Redis, then the embedded redis-server if this was its last user.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from bridge.callouts.clock import Clock, WallClock
from bridge.callouts.scheduler import Scheduler
from bridge.commands.links import Linker
from bridge.commands.registry import Commands, command_menu
from bridge.commands.timer import run_timer
from bridge.config.load import LoadedConfig
from bridge.config.models import Config
from bridge.infra.bus import Inbox
from bridge.infra.connection import RedisHandle, open_redis
from bridge.infra.links import LinkStore, follow, left_behind, load
from bridge.infra.logs import quiet
from bridge.infra.metrics import (
    BOT_HEALTHY,
    DEAD_LETTERS_STORED,
    OUTBOX_DEPTH,
    REDIS_MEMORY,
    OpsServer,
)
from bridge.infra.schema import upgrade
from bridge.infra.upkeep import hourly
from bridge.model import keys
from bridge.model.catalogs import Catalogs
from bridge.model.catalogs import use as use_catalogs
from bridge.model.envelope import Delivery
from bridge.model.i18n import Param, ngettext
from bridge.model.links import PENDING_MAX
from bridge.model.platforms import Platform, load_all
from bridge.model.ports import Bot, BotContext
from bridge.model.redaction import add_secrets
from bridge.moderation.policy import CarryCheck, ModerationPolicy
from bridge.ops.page import render_page
from bridge.ops.status import HEALTH_EVERY_S, gather, report_health
from bridge.relay.deliverer import Deliverer
from bridge.relay.notices import notice
from bridge.relay.reactions import keep_for, run_edits
from bridge.relay.router import Router
from bridge.relay.translate import Translator, build_translator
from bridge.relay.worker import RelayWorker

log = logging.getLogger(__name__)

ROLES = ("all", "bots", "relay", "scheduler")


@dataclass
class Part:
    """One piece of a run, started in order and stopped in reverse."""

    name: str
    start: Callable[[], Awaitable[None]]
    stop: Callable[[], Awaitable[None]]


def task_part(name: str, body: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> Part:
    """A part that is one long-running task, told to stop through an event."""
    stop = asyncio.Event()
    holder: dict[str, asyncio.Task[None]] = {}

    async def start() -> None:
        task = asyncio.create_task(body(stop), name=name)
        task.add_done_callback(_log_failure)
        holder["task"] = task

    async def halt() -> None:
        stop.set()
        task = holder.get("task")
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return Part(name, start, halt)


async def _nothing() -> None:
    return None


HEALTH_WAIT_S = 5.0  # the longest /healthz waits for one bot to say how it is


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped on an error", task.get_name(), exc_info=task.exception())


def adapters(names: Iterable[str]) -> dict[str, Platform]:
    """Load the platform adapters these names need, after setting what their client libraries
    read from the environment, and hold those libraries' loggers where they say."""
    known = load_all(names)
    for platform in known.values():
        for key, value in platform.environment.items():
            os.environ.setdefault(key, value)
        quiet(platform.quiet_loggers, platform.silent_loggers)
    return known


def build_router(
    config: Config,
    redis: Any,
    translator: Translator | None = None,
    clock: Callable[[], float] = time.time,
) -> Router:
    """The relay's router with moderation as its policy and the commands as its actions
    (``clock``: what invite codes expire by; tests inject one)."""
    moderation = ModerationPolicy(config, redis)
    return Router(
        config,
        adapters(b.platform for b in config.bots),
        redis,
        policy=moderation,
        actions=Commands(moderation, clock),
        translator=translator,
    )


class App:
    def __init__(
        self,
        loaded: LoadedConfig,
        role: str = "all",
        clock_speed: float = 1.0,
        *,
        lease_ms: int = 10_000,
        metrics: tuple[str, int] | None = None,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
        self.loaded = loaded
        self.config: Config = loaded.config
        # the bridge's own texts: the shipped catalogs, with the operator's laid over them
        # (load_config has refused a locale_dir with a broken .po already)
        use_catalogs(Catalogs.load(self.config.translation.locale_dir))
        add_secrets(self.config.secrets())  # redacted from every log line, whoever runs this
        self.role = role
        self.clock_speed = clock_speed
        self.lease_ms = lease_ms
        self.metrics = metrics  # (host, port) for /metrics and /healthz
        self.redis: RedisHandle | None = None
        self.bots: dict[str, Bot] = {}
        self.deliverers: dict[str, Deliverer] = {}
        self.relay: RelayWorker | None = None
        self.callout_clock: Clock | None = None  # tests inject one; else the wall clock
        self.scheduler: Scheduler | None = None
        self.health_every_s = HEALTH_EVERY_S  # how often each bot's health is written
        self.links_clock: Callable[[], float] = time.time  # invites, pending chats (tests)
        self.links_every_s = 1.0  # how often the linked rooms' version is read
        self.pending_sweep_s = 30.0  # how often bots leave chats nobody linked in time

    def _wants(self, part: str) -> bool:
        return self.role in ("all", part)

    def _parts(self, handle: RedisHandle, links: LinkStore, version: int) -> list[Part]:
        cfg = self.config
        redis = handle.client
        map_ttl = cfg.retention.message_map_days * 86400
        known = adapters(b.platform for b in cfg.bots)
        parts: list[Part] = []
        ingress: list[Part] = []
        if self._wants("bots"):
            inbox = Inbox(redis, cfg.redis.shards)
            may_carry = CarryCheck(cfg, redis)  # a file is fetched only when it may cross
            linker = Linker(cfg, redis, links, self.links_clock)
            for settings in cfg.bots:
                platform = known[settings.platform]
                if platform.factory is None:
                    log.warning(
                        "bot %s: the %s adapter is not built yet", settings.id, platform.name
                    )
                    continue
                ctx = BotContext(
                    settings,
                    cfg.rooms_of(settings.id),
                    redis,
                    cfg.data_dir,
                    inbox.publish,
                    notice=self._notifier(settings.id),
                    media_ttl_s=cfg.retention.recent_hours * 3600,
                    commands=command_menu(),
                    may_carry=functools.partial(may_carry, settings.id),
                    link=linker,
                    clock=self.links_clock,
                    refuse_servers=frozenset(cfg.link.refuse_servers),
                    pending_limit=PENDING_MAX if cfg.link.invites else 0,
                    pending_per_server=cfg.link.per_server,
                    pending_sweep_s=self.pending_sweep_s,
                )
                bot = platform.factory(ctx)
                self.bots[settings.id] = bot
                deliverer = Deliverer(
                    redis,
                    bot,
                    map_ttl_s=map_ttl,
                    on_dead_letter=self.notify_dead_letter,
                    lease_ms=self.lease_ms,
                    platform=settings.platform,
                    keep_for=keep_for(cfg),  # copies whose reactions are counted
                    left=left_behind(cfg, redis),  # copies for a room unlinked since
                )
                self.deliverers[settings.id] = deliverer
                parts.append(task_part(f"deliver-{settings.id}", deliverer.run))
                ingress.append(Part(f"bot-{settings.id}", bot.start, bot.stop))
        if self._wants("relay"):
            dead_letter_ttl = cfg.retention.message_map_days * 86400
            parts.append(
                task_part("hourly upkeep", lambda stop: hourly(redis, dead_letter_ttl, stop))
            )
            # no start-up step for language detection: lingua and its models load on the first
            # line whose words do not say it is in its room's language (translation.detect)
            translator = build_translator(cfg, redis)
            parts.append(Part("translation", _nothing, translator.close))
            router = build_router(cfg, redis, translator, self.links_clock)
            self.relay = RelayWorker(
                redis, router, shards=cfg.redis.shards, map_ttl_s=map_ttl, lease_ms=self.lease_ms
            )
            parts.append(task_part("relay", self.relay.run))
            timer = self.callout_clock or WallClock(self.clock_speed)  # consents, lapses
            parts.append(task_part("share timer", lambda stop: run_timer(cfg, redis, timer, stop)))
            parts.append(task_part("reaction counts", lambda stop: run_edits(redis, timer, stop)))
        if self._wants("scheduler"):
            callout_translator = build_translator(cfg, redis)
            clock = self.callout_clock or WallClock(self.clock_speed)
            self.scheduler = Scheduler(cfg, redis, callout_translator, clock)
            parts.append(Part("call-out translation", _nothing, callout_translator.close))
            parts.append(task_part("call-outs", self.scheduler.run))
        # every role: rooms linked or unlinked from chat, seen within a second, no restart
        parts.append(task_part("linked rooms", lambda stop: follow(
            cfg, links, stop, version, [self._serve], self.links_every_s)))  # fmt: skip
        if self.bots:  # stopped last: the deliverers have drained by then
            parts.insert(0, Part("bot clients", _nothing, self._close_bots))
        if self.metrics is not None:
            host, port = self.metrics
            ops = OpsServer(host, port, self.health, self._sample, self.status_page)
            parts.insert(0, Part("metrics", ops.start, ops.stop))
        if self.bots:  # after the ingress has started; stopped first
            ingress.append(task_part("bot health", self._report_health))
        return parts + ingress

    async def status_page(self) -> str:
        """The /status page: the whole network as Redis holds it (``bridge.ops``)."""
        assert self.redis is not None
        return render_page(await gather(self.redis.client, self.config, time.time()))

    async def _report_health(self, stop: asyncio.Event) -> None:
        """Each bot's health, for ``translocal status`` and the metrics, until ``stop``."""
        while not stop.is_set():
            for bot_id, bot in self.bots.items():
                try:
                    trouble = await asyncio.wait_for(bot.health(), HEALTH_WAIT_S)
                except TimeoutError:
                    trouble = f"no answer within {HEALTH_WAIT_S:.0f} s"
                except Exception as exc:
                    trouble = f"health check failed ({type(exc).__name__})"
                BOT_HEALTHY.labels(bot_id).set(0 if trouble else 1)
                try:
                    assert self.redis is not None
                    await report_health(self.redis.client, bot_id, trouble, time.time())
                except Exception as exc:  # Redis away: the next round writes it
                    log.warning("bot %s: health not recorded (%s)", bot_id, type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.health_every_s)
        with contextlib.suppress(Exception):  # stopped: no report is better than a stale "ok"
            assert self.redis is not None
            await self.redis.client.delete(*(keys.bot_state(b, "status") for b in self.bots))

    async def _serve(self) -> None:
        """Tell each bot its rooms, after rooms were linked or unlinked."""
        for bot_id, bot in self.bots.items():
            await bot.serve(self.config.rooms_of(bot_id))

    async def _close_bots(self) -> None:
        for bot in self.bots.values():
            await bot.close()

    async def health(self) -> list[str]:
        """What is not well, one line each; empty when Redis answers and every bot is
        connected."""
        problems = []
        try:
            assert self.redis is not None
            await self.redis.client.ping()
        except Exception as exc:
            problems.append(f"redis: not answering ({type(exc).__name__})")
        for bot_id, bot in self.bots.items():
            try:
                trouble = await asyncio.wait_for(bot.health(), HEALTH_WAIT_S)
            except TimeoutError:
                trouble = f"no answer within {HEALTH_WAIT_S:.0f} s"
            if trouble:
                problems.append(f"bot {bot_id}: {trouble}")
        return problems

    async def _sample(self) -> None:
        assert self.redis is not None
        for bot_id in self.bots:
            OUTBOX_DEPTH.labels(bot_id).set(await self.redis.client.xlen(keys.outbox(bot_id)))
        DEAD_LETTERS_STORED.set(await self.redis.client.xlen(keys.DEAD_LETTERS))
        memory = await self.redis.client.info("memory")
        REDIS_MEMORY.labels("used").set(float(memory.get("used_memory", 0)))
        REDIS_MEMORY.labels("max").set(float(memory.get("maxmemory", 0)))

    def _notifier(self, bot_id: str) -> Callable[[Param], Awaitable[None]]:
        async def notice(text: Param) -> None:
            rooms = self.config.rooms_of(bot_id)
            await self.notify(text, rooms[0].id if rooms else self.config.rooms[0].id)

        return notice

    async def notify_dead_letter(self, delivery: Delivery, reason: str) -> None:
        """Tell the operator (ops_room, else the room the message came from)."""
        cfg = self.config
        failed = cfg.room(delivery.room)
        text = ngettext(
            "Translocal could not deliver a message from {origin} to {room}: {reason}. It is "
            "kept in the dead-letter stream for {n} day.",
            "Translocal could not deliver a message from {origin} to {room}: {reason}. It is "
            "kept in the dead-letter stream for {n} days.",
            cfg.retention.message_map_days,
            origin=cfg.room(delivery.origin.room).label, room=failed.label, reason=reason,
        )  # fmt: skip
        await self.notify(text, delivery.origin.room, key=f"notice:{delivery.key}")

    async def notify(self, text: Param, fallback_room: str, key: str | None = None) -> None:
        """An operational notice, in ops_room (else ``fallback_room``), in that room's language
        from the catalogs (English where it has none). Never a message body."""
        assert self.redis is not None
        delivery = notice(self.config, text, fallback_room, key)
        await self.redis.client.xadd(keys.outbox(delivery.bot), {"d": delivery.model_dump_json()})

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        self.redis = await open_redis(self.config.redis, self.config.data_dir)
        started: list[Part] = []
        try:
            version = await upgrade(self.redis.client)
            log.info("redis layout at schema version %d", version)
            links = LinkStore(self.redis.client, self.links_clock)
            linked = await load(self.config, links)  # before any part reads the rooms
            for part in self._parts(self.redis, links, linked):
                await part.start()
                started.append(part)
            log.info(
                "translocal is running (role %s: %d bots, %d rooms, %d circles)",
                self.role,
                len(self.config.bots),
                len(self.config.rooms),
                len(self.config.circles),
            )
            if ready is not None:
                ready.set()
            await stop.wait()
            log.info("stopping")
        finally:
            for part in reversed(started):
                try:
                    await part.stop()
                except Exception:
                    log.exception("stopping %s failed", part.name)
            await self.redis.close()
            log.info("stopped")
