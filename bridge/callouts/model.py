"""What a call-out is, where it goes, and when it fires, room by room.

A call-out's schedule is ``at`` (one wall time, "YYYY-MM-DD HH:MM") or ``cron`` (crontab
meaning, see ``bridge.callouts.cron``). In ``instant`` mode the wall time is read in the call-out's
``tz`` and every room gets it at that one moment; in ``local`` mode it is read in each room's
own timezone. APScheduler's triggers compute the moments; here we only add two rules:

- a wall time that happens twice (the night clocks go back) fires once, at its first
  occurrence: a second occurrence is skipped;
- a time in a daylight-saving gap fires as APScheduler computes it (02:30 becomes 03:30).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from pydantic import BaseModel, ConfigDict

from bridge.callouts import cron as schedule
from bridge.config.models import AT_FORMAT, CalloutConfig, Config, RoomConfig
from bridge.model.errors import TranslocalError
from translation.languages import check_language

Mode = Literal["local", "instant"]
Source = Literal["config", "chat", "cli"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The longest text a call-out may have, per platform of a target room, counted as the
# platform counts, with room left for the heading and the translation note. Telegram: 4096
# UTF-16 units per message; Matrix: 65536 bytes per event (JSON and HTML around the body).
TEXT_LIMITS: dict[str, tuple[int, str]] = {
    "telegram": (4000, "UTF-16 units"),
    "matrix": (60000, "bytes"),
}
DEFAULT_LIMIT = (4000, "characters")


class CalloutRefused(TranslocalError):
    """Bad input for a call-out: one line saying why; nothing was stored."""

    exit_code = 2


class Callout(BaseModel):
    """A call-out as stored in Redis (``tl:callouts``), readable JSON."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    circles: tuple[str, ...] = ()
    rooms: tuple[str, ...] = ()
    at: str | None = None
    cron: str | None = None
    mode: Mode = "local"
    tz: str = "UTC"
    language: str
    text: str
    pin: bool = False
    source: Source
    author: str = ""  # a sender id ("telegram:2001"), "cli" or "config"
    report_to: str | None = None  # the room that gets the reports
    reply_to: str | None = None  # the command's message id in report_to (chat call-outs)
    origin_key: str = ""  # the envelope key of the command that made it (idempotency)
    created: float = 0.0  # Unix time
    since: float | None = None  # only fires after this count; None: every fire counts

    @property
    def schedule_text(self) -> str:
        return f"at {self.at}" if self.at is not None else f'cron "{self.cron}"'

    def same_plan(self, other: Callout) -> bool:
        """Whether both fire at the same moments in the same rooms."""
        fields = ("circles", "rooms", "at", "cron", "mode", "tz")
        return all(getattr(self, f) == getattr(other, f) for f in fields)


def from_config(entry: CalloutConfig, now: float) -> Callout:
    """A config call-out: every fire of an ``at`` counts (a past one is reported as
    skipped, or sent late within the grace period); a cron counts from now on."""
    return Callout(
        id=entry.id,
        circles=tuple(entry.circles),
        rooms=tuple(entry.rooms),
        at=entry.at,
        cron=entry.cron,
        mode=entry.mode,
        tz=entry.tz,
        language=entry.language,
        text=entry.text,
        pin=entry.pin,
        source="config",
        author="config",
        report_to=entry.report_to,
        created=now,
        since=None if entry.at is not None else now,
    )


def iso(moment: datetime) -> str:
    """A fire time as keys and reports write it: UTC, to the minute."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)


def targets(callout: Callout, config: Config) -> list[RoomConfig]:
    """The rooms a call-out goes to, in config order: its circles' rooms that receive, and
    the rooms it names (those even when they do not receive from circles)."""
    wanted: set[str] = set(callout.rooms)
    circles = {c.id: c for c in config.circles}
    for circle_id in callout.circles:
        circle = circles.get(circle_id)
        if circle is not None:
            wanted.update(r for r in circle.rooms if config.room(r).receive)
    return [r for r in config.rooms if r.id in wanted]


def zone_of(callout: Callout, room: RoomConfig) -> ZoneInfo:
    return ZoneInfo(room.timezone if callout.mode == "local" else callout.tz)


@functools.lru_cache(maxsize=1024)
def _trigger(at: str | None, cron: str | None, zone: ZoneInfo) -> BaseTrigger:
    if at is not None:
        return DateTrigger(datetime.strptime(at, AT_FORMAT), timezone=zone)  # noqa: DTZ007
    assert cron is not None
    return schedule.parse_cron(cron, zone)


def next_fire(callout: Callout, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first fire strictly after ``after``, in UTC, in ``zone``; None when none is left."""
    trigger = _trigger(callout.at, callout.cron, zone)
    while True:
        found = schedule.next_fire(trigger, after)
        if found is None or found <= after:  # a date trigger gives its date whatever `after`
            return None
        if not _second_occurrence(found, zone):
            return found
        after = found


def _second_occurrence(moment: datetime, zone: ZoneInfo) -> bool:
    """Whether ``moment`` shows a wall time that the same night already showed once."""
    local = moment.astimezone(zone)
    first = local.replace(fold=0)
    return first.utcoffset() != local.utcoffset() and first.astimezone(UTC) < moment


def occurrence(callout: Callout, fire: datetime, zone: ZoneInfo) -> str:
    """What one report covers: one moment (instant), or one wall time in every room (local)."""
    if callout.mode == "instant":
        return iso(fire)
    return fire.astimezone(zone).strftime("%Y-%m-%dT%H:%M") + "L"


def upcoming(
    callout: Callout, config: Config, after: datetime
) -> list[tuple[RoomConfig, datetime | None]]:
    """Each target room with its next fire after ``after``."""
    return [(room, next_fire(callout, zone_of(callout, room), after))
            for room in targets(callout, config)]  # fmt: skip


def local_and_utc(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"


# ---- checking input ------------------------------------------------------------------------


def check_new(
    config: Config,
    *,
    circles: Iterable[str],
    rooms: Iterable[str],
    at: str | None,
    cron: str | None,
    mode: str,
    tz: str,
    language: str,
    text: str,
    now: datetime,
) -> None:
    """Raise CalloutRefused with a one-line reason for bad input (chat or CLI)."""
    circles, rooms = list(circles), list(rooms)
    known_circles = {c.id for c in config.circles}
    known_rooms = {r.id for r in config.rooms}
    for name in circles:
        if name not in known_circles:
            raise CalloutRefused(f"{name!r} is not a circle of this network")
    for name in rooms:
        if name not in known_rooms:
            raise CalloutRefused(f"{name!r} is not a room of this network")
    if not circles and not rooms:
        raise CalloutRefused("give a circle or a room to send it to")
    if mode not in ("local", "instant"):
        raise CalloutRefused(f"{mode!r} is not a mode: local or instant")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalloutRefused(f"{tz!r} is not a known timezone") from None
    try:
        check_language(language)
    except ValueError as exc:
        raise CalloutRefused(str(exc)) from None
    if not text.strip():
        raise CalloutRefused("the text is empty")
    if (at is None) == (cron is None):
        raise CalloutRefused("give a date and time or a cron, one of the two")
    if at is not None:
        try:
            datetime.strptime(at, AT_FORMAT)  # noqa: DTZ007 - a wall time, zoned per room
        except ValueError:
            raise CalloutRefused(f'{at!r} is not a date and time "YYYY-MM-DD HH:MM"') from None
    if cron is not None:
        try:
            schedule.parse_cron(cron, tz)
        except ValueError as exc:
            raise CalloutRefused(str(exc)) from None
    probe = Callout(id="new", circles=tuple(circles), rooms=tuple(rooms), at=at, cron=cron,
                    mode=cast(Mode, mode), tz=tz, language=language, text=text,
                    source="cli")  # fmt: skip
    rooms_to = targets(probe, config)
    if not rooms_to:
        raise CalloutRefused("none of those rooms receives call-outs")
    for room in rooms_to:
        when = next_fire(probe, zone_of(probe, room), now)
        if when is None:
            where = f" in {room.label}" if mode == "local" else ""
            raise CalloutRefused(f"{at} has already passed{where}")
    check_length(config, rooms_to, text)


def check_length(config: Config, rooms: Iterable[RoomConfig], text: str) -> None:
    for room in rooms:
        platform = config.bot(room.bot).platform
        limit, unit = TEXT_LIMITS.get(platform, DEFAULT_LIMIT)
        size = _measure(text, unit)
        if size > limit:
            raise CalloutRefused(
                f"the text is {size} {unit} long; {platform} rooms take at most {limit}"
            )


def _measure(text: str, unit: str) -> int:
    if unit == "UTF-16 units":
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    if unit == "bytes":
        return len(text.encode())
    return len(text)
