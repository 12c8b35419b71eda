"""Call-outs fire at the right moments, on a clock the test moves (no sleeping until then).

The scheduler runs over the real embedded Redis; what it queues is read back from the bots'
outboxes, as the deliverers would read it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.callouts.clock import ManualClock
from bridge.callouts.model import Callout
from bridge.callouts.scheduler import Scheduler
from bridge.callouts.store import CalloutStore
from bridge.config.models import Config
from bridge.model import keys
from bridge.model.envelope import Delivery
from bridge.relay.translate import PassThrough
from tests.harness import memory_config

ROOMS = [
    {"id": "cdmx", "bot": "a", "chat": "a1", "language": "es", "label": "CDMX",
     "timezone": "America/Mexico_City"},
    {"id": "berlin", "bot": "b", "chat": "b1", "language": "de", "label": "Berlin",
     "timezone": "Europe/Berlin"},
    {"id": "nyc", "bot": "c", "chat": "c1", "language": "en", "label": "NYC",
     "timezone": "America/New_York"},
]  # fmt: skip


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def config(tmp_path: Path, redis_url: str, **extra: Any) -> Config:
    return memory_config(tmp_path, redis_url, rooms=ROOMS, **extra).config


def callout(callout_id: str = "c1", **fields: Any) -> Callout:
    base: dict[str, Any] = {"circles": ("net",), "language": "en", "text": "Rally!",
                            "source": "cli", "since": utc(2026, 1, 1).timestamp()}  # fmt: skip
    return Callout(id=callout_id, **{**base, **fields})


async def queued(redis_client: redis.asyncio.Redis) -> list[Delivery]:
    """Everything in the outboxes, oldest first per bot."""
    out: list[Delivery] = []
    for bot in ("a", "b", "c"):
        for _, fields in await redis_client.xrange(keys.outbox(bot)):
            out.append(Delivery.model_validate_json(fields["d"]))
    return out


async def run_until(
    scheduler: Scheduler, clock: ManualClock, end: datetime
) -> list[tuple[datetime, str]]:
    """Jump the clock from fire to fire until ``end``; (clock time, delivery key) per queued
    delivery, in the order they were queued."""
    seen: set[str] = set()
    log: list[tuple[datetime, str]] = []
    while True:
        wake = await scheduler.tick()
        for d in await queued(scheduler.redis):
            if d.key not in seen:
                seen.add(d.key)
                log.append((clock.now(), d.key))
        if wake is None or wake > end:
            return log
        clock.set(max(wake, clock.now()))


@pytest.fixture
def store(redis_client: redis.asyncio.Redis) -> CalloutStore:
    return CalloutStore(redis_client)


SCHEDULERS: list[Scheduler] = []


@pytest.fixture(autouse=True)
async def _close_schedulers(redis_client: redis.asyncio.Redis) -> AsyncIterator[None]:
    yield
    while SCHEDULERS:
        await SCHEDULERS.pop().close()  # reports still waiting for deliveries


def scheduler_for(cfg: Config, store: CalloutStore, clock: ManualClock, **kw: Any) -> Scheduler:
    """A scheduler without translation, whose reports wait briefly for deliveries (no
    deliverer runs here)."""
    scheduler = Scheduler(cfg, store.redis, PassThrough(), clock, report_wait_s=0.5, **kw)
    SCHEDULERS.append(scheduler)
    return scheduler


def fires_by_room(log: list[tuple[datetime, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for moment, key in log:
        stamp, room = key.split(":", 2)[2].rsplit(":", 1)
        assert moment.strftime("%Y-%m-%dT%H:%MZ") == stamp  # queued at its very moment
        out.setdefault(room, []).append(stamp)
    return out


async def test_local_18_00_fires_at_each_rooms_18_00_across_a_dst_change(
    tmp_path: Path, redis_url: str, store: CalloutStore
) -> None:
    cfg = config(tmp_path, redis_url)
    await store.add(callout(cron="0 18 * * *", mode="local", since=utc(2026, 3, 6).timestamp()))
    clock = ManualClock(utc(2026, 3, 6))
    scheduler = scheduler_for(cfg, store, clock)
    fires = fires_by_room(await run_until(scheduler, clock, utc(2026, 3, 10, 1)))
    # Mexico City keeps UTC-6 all year; Berlin is UTC+1 until March 29
    assert fires["cdmx"] == ["2026-03-07T00:00Z", "2026-03-08T00:00Z", "2026-03-09T00:00Z",
                             "2026-03-10T00:00Z"]  # fmt: skip
    assert fires["berlin"] == ["2026-03-06T17:00Z", "2026-03-07T17:00Z", "2026-03-08T17:00Z",
                               "2026-03-09T17:00Z"]  # fmt: skip
    # New York springs forward on March 8: 18:00 EST is 23:00 UTC, 18:00 EDT is 22:00 UTC
    assert fires["nyc"] == ["2026-03-06T23:00Z", "2026-03-07T23:00Z", "2026-03-08T22:00Z",
                            "2026-03-09T22:00Z"]  # fmt: skip


async def test_an_instant_call_out_fires_once_everywhere_at_the_same_moment(
    tmp_path: Path, redis_url: str, store: CalloutStore, redis_client: redis.asyncio.Redis
) -> None:
    cfg = config(tmp_path, redis_url)
    await store.add(callout(at="2026-06-05 18:00", mode="instant", tz="Europe/Berlin"))
    clock = ManualClock(utc(2026, 6, 5, 12))
    scheduler = scheduler_for(cfg, store, clock)
    log = await run_until(scheduler, clock, utc(2026, 7, 1))
    assert sorted(key for _, key in log) == [
        "callout:c1:2026-06-05T16:00Z:berlin",
        "callout:c1:2026-06-05T16:00Z:cdmx",
        "callout:c1:2026-06-05T16:00Z:nyc",
    ]
    assert {moment for moment, _ in log} == {utc(2026, 6, 5, 16)}
    sent = await queued(redis_client)
    assert {(d.room, d.chat, d.attribution, d.text) for d in sent} == {
        ("cdmx", "a1", "Convocatoria", "Rally!"),  # each heading from its room's catalog
        ("berlin", "b1", "Aufruf", "Rally!"),
        ("nyc", "c1", "Call-out", "Rally!"),
    }
    assert await scheduler.tick() is None  # nothing left to fire


async def test_0_18_on_day_5_fires_on_fridays(
    tmp_path: Path, redis_url: str, store: CalloutStore
) -> None:
    cfg = config(tmp_path, redis_url)
    await store.add(callout(cron="0 18 * * 5", mode="instant", rooms=("berlin",), circles=()))
    clock = ManualClock(utc(2026, 1, 1))  # a Thursday
    scheduler = scheduler_for(cfg, store, clock)
    log = await run_until(scheduler, clock, utc(2026, 1, 31))
    moments = [moment for moment, _ in log]
    assert [m.strftime("%a %d %H:%M") for m in moments] == [
        "Fri 02 18:00", "Fri 09 18:00", "Fri 16 18:00", "Fri 23 18:00", "Fri 30 18:00",
    ]  # fmt: skip


async def test_a_repeated_wall_time_fires_once_and_a_gap_as_apscheduler_computes(
    tmp_path: Path, redis_url: str, store: CalloutStore
) -> None:
    cfg = config(tmp_path, redis_url)
    await store.add(callout(cron="30 2 * * *", mode="local", rooms=("berlin",), circles=(),
                            since=utc(2026, 10, 24).timestamp()))  # fmt: skip
    clock = ManualClock(utc(2026, 10, 24))
    scheduler = scheduler_for(cfg, store, clock)
    fires = fires_by_room(await run_until(scheduler, clock, utc(2026, 10, 26, 12)))
    # 02:30 happens twice on October 25 (CEST, then CET): it fires at the first only
    assert fires["berlin"] == ["2026-10-24T00:30Z", "2026-10-25T00:30Z", "2026-10-26T01:30Z"]

    await store.add(callout("c2", cron="30 2 * * *", mode="local", rooms=("berlin",),
                            circles=(), since=utc(2027, 3, 27).timestamp()))  # fmt: skip
    clock.set(utc(2027, 3, 27))
    log = await run_until(scheduler, clock, utc(2027, 3, 29, 12))
    gap = [key for _, key in log if key.startswith("callout:c2:")]
    # 02:30 does not exist on March 28: it fires at 03:30 CEST, 01:30 UTC
    assert [k.split(":", 2)[2] for k in gap] == [
        "2027-03-27T01:30Z:berlin", "2027-03-28T01:30Z:berlin", "2027-03-29T00:30Z:berlin",
    ]  # fmt: skip


async def test_two_schedulers_on_one_redis_send_every_fire_exactly_once(
    tmp_path: Path, redis_url: str, store: CalloutStore, redis_client: redis.asyncio.Redis
) -> None:
    cfg = config(tmp_path, redis_url)
    await store.add(callout(cron="*/10 * * * *", mode="local", since=utc(2026, 5, 1).timestamp()))
    await store.add(callout("c2", at="2026-05-01 01:00", mode="instant"))
    clock = ManualClock(utc(2026, 5, 1))
    one = scheduler_for(cfg, store, clock, name="one")
    two = scheduler_for(cfg, store, clock, name="two")
    for step in range(24):  # four hours in steps of ten minutes, both racing at every step
        first, second = (one, two) if step % 2 else (two, one)  # each gets a head start
        await asyncio.gather(first.tick(), second.tick(), first.tick(), second.tick())
        clock.advance(timedelta(minutes=10))
    keys_sent = [d.key for d in await queued(redis_client)]
    assert len(keys_sent) == len(set(keys_sent))
    assert len(keys_sent) == 23 * 3 + 3  # every fire in every room (00:10 to 03:50), once
    assert one.queued + two.queued == len(keys_sent)  # who sent which is the race's business


async def test_a_missed_fire_goes_late_within_the_grace_period(
    tmp_path: Path, redis_url: str, store: CalloutStore, redis_client: redis.asyncio.Redis
) -> None:
    cfg = config(tmp_path, redis_url, callout_grace_minutes=10)
    await store.add(callout(at="2026-05-01 12:00", mode="instant"))
    clock = ManualClock(utc(2026, 5, 1, 12, 7))  # everything was down until 12:07
    await scheduler_for(cfg, store, clock).tick()
    assert len(await queued(redis_client)) == 3


async def test_a_fire_missed_beyond_the_grace_is_skipped_and_reported(
    tmp_path: Path, redis_url: str, store: CalloutStore, redis_client: redis.asyncio.Redis
) -> None:
    cfg = config(tmp_path, redis_url, callout_grace_minutes=10)
    await store.add(callout(at="2026-05-01 12:00", mode="instant", report_to="berlin"))
    clock = ManualClock(utc(2026, 5, 1, 14, 5))
    scheduler = scheduler_for(cfg, store, clock)
    await scheduler.tick()
    await scheduler.tick()
    assert not await queued(redis_client) or all(d.notice for d in await queued(redis_client))
    await asyncio.wait_for(asyncio.gather(*scheduler.reports.tasks.values()), 10)
    (report,) = await store.reports("c1")
    assert report["landed"] == 0
    assert {tuple(line[:2]) for line in report["lines"]} == {
        ("skipped", "CDMX"), ("skipped", "Berlin"), ("skipped", "NYC"),
    }  # fmt: skip
    assert "missed by 2 h 5 min" in report["lines"][0][2]
    (notice,) = [d for d in await queued(redis_client) if d.notice]
    assert notice.room == "berlin"
    assert "in 0 von 3 Räumen angekommen" in notice.text  # in Berlin's language
    assert "Übersprungen: NYC: missed by 2 h 5 min, beyond the 10 min grace period" in notice.text
    # told once: later ticks and a second scheduler find nothing more to say
    await scheduler_for(cfg, store, clock).tick()
    assert len([d for d in await queued(redis_client) if d.notice]) == 1


async def test_many_missed_cron_fires_are_one_skip_and_then_it_goes_on(
    tmp_path: Path, redis_url: str, store: CalloutStore, redis_client: redis.asyncio.Redis
) -> None:
    cfg = config(tmp_path, redis_url)
    await store.add(callout(cron="0 * * * *", mode="instant", rooms=("nyc",), circles=(),
                            since=utc(2026, 5, 1).timestamp()))  # fmt: skip
    clock = ManualClock(utc(2026, 5, 3, 0, 5))  # two days down; 00:00 is within the grace
    scheduler = scheduler_for(cfg, store, clock)
    await run_until(scheduler, clock, utc(2026, 5, 3, 0, 30))
    assert [d.key for d in await queued(redis_client)] == ["callout:c1:2026-05-03T00:00Z:nyc"]
    outcomes = await redis_client.hgetall(keys.callout_outcomes("c1", "2026-05-01T01:00Z"))
    assert "47 fires missed" in json.loads(outcomes["nyc"])["why"]


async def test_config_call_outs_are_reconciled_and_a_past_at_is_reported_once(
    tmp_path: Path, redis_url: str, store: CalloutStore, redis_client: redis.asyncio.Redis
) -> None:
    entries = [
        {"id": "old", "circles": ["net"], "at": "2026-01-01 09:00", "mode": "instant",
         "language": "en", "text": "Long ago", "report_to": "nyc"},
        {"id": "weekly", "circles": ["net"], "cron": "0 18 * * 5", "language": "en",
         "text": "Friday"},
    ]  # fmt: skip
    cfg = config(tmp_path, redis_url, callouts=entries)
    await store.add(callout("chat01", source="chat", at="2026-06-01 12:00"))
    now = utc(2026, 5, 1).timestamp()
    assert sorted(await store.reconcile(cfg, now)) == ["added old", "added weekly"]
    assert await store.reconcile(cfg, now + 60) == []  # nothing changed: nothing rewritten

    clock = ManualClock(utc(2026, 5, 1))
    scheduler = scheduler_for(cfg, store, clock)
    await scheduler.tick()
    await scheduler.tick()
    await asyncio.wait_for(asyncio.gather(*scheduler.reports.tasks.values()), 10)
    (report,) = await store.reports("old")
    assert {line[0] for line in report["lines"]} == {"skipped"}
    notices = [d for d in await queued(redis_client) if d.notice]
    assert [d.room for d in notices] == ["nyc"]
    # a restart reconciles again and says nothing more about it
    await store.reconcile(cfg, now + 120)
    await scheduler_for(cfg, store, clock).tick()
    assert len([d for d in await queued(redis_client) if d.notice]) == 1

    # the text of one changes (it keeps its place), another leaves the file; chat ones stay
    changed = [{**entries[1], "text": "Friday!"}]
    cursor_before = await store.cursors("weekly")
    assert await store.reconcile(config(tmp_path, redis_url, callouts=changed), now) == [
        "updated weekly", "removed old",
    ]  # fmt: skip
    stored = await store.all()
    assert sorted(stored) == ["chat01", "weekly"]
    assert stored["weekly"].text == "Friday!"
    assert await store.cursors("weekly") == cursor_before
