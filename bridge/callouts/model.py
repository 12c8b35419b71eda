"""What a call-out is, where it goes, and when it fires, room by room.

A call-out's schedule is ``at`` (one wall time, "YYYY-MM-DD HH:MM") or ``cron`` (crontab
meaning, see ``bridge.config.cron``). In ``instant`` mode the wall time is read in the call-out's
``tz`` and every room gets it at that one moment; in ``local`` mode it is read in each room's
own timezone. APScheduler's triggers compute the moments; here we only add two rules:

- a wall time that happens twice (the night clocks go back) fires once, at its first
  occurrence: a second occurrence is skipped;
- a time in a daylight-saving gap fires as APScheduler computes it (02:30 becomes 03:30).

A call-out is asked for in three places (the config, a chat command, the shell) with the same
fields, a ``Request``; a stored ``Callout`` is a request plus who made it and since when it
counts, and is made from one only by ``Callout.of`` (checked first by ``new_callout``). The
longest text a room takes is its platform's ``text_limit``, declared by the adapter.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from pydantic import BaseModel, ConfigDict

from bridge.config import cron as schedule
from bridge.config.models import AT_FORMAT, CalloutConfig, Config, RoomConfig
from bridge.model.errors import TranslocalError
from bridge.model.i18n import Message, _, render
from bridge.model.platforms import Platform, load
from translation.languages import check_language

Mode = Literal["local", "instant"]
Source = Literal["config", "chat", "cli"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CalloutRefused(TranslocalError):
    """Bad input for a call-out: one line saying why; nothing was stored. The reason is a
    marked text: chat answers it in the room's language, the shell in English (``str``)."""

    exit_code = 2

    def __init__(self, reason: Message) -> None:
        super().__init__(render(reason, "en"))
        self.reason = reason


class Request(BaseModel):
    """A call-out as asked for, in the config, in chat or in the shell: where it goes, when,
    and what it says. Each front-end fills these fields and nothing else."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    circles: tuple[str, ...] = ()
    rooms: tuple[str, ...] = ()
    at: str | None = None
    cron: str | None = None
    mode: Mode = "local"
    tz: str = "UTC"
    language: str
    text: str
    pin: bool = False
    rsvp: bool = False  # members answer with ✊/🤔 or `rsvp yes|maybe|no` (bridge.callouts.rsvp)
    report_to: str | None = None  # the room that gets the reports

    @property
    def schedule_text(self) -> str:
        return f"at {self.at}" if self.at is not None else f'cron "{self.cron}"'

    def same_plan(self, other: Request) -> bool:
        """Whether both fire at the same moments in the same rooms."""
        fields = ("circles", "rooms", "at", "cron", "mode", "tz")
        return all(getattr(self, f) == getattr(other, f) for f in fields)


class Callout(Request):
    """A call-out as stored in Redis (``tl:callouts``), readable JSON: the request, and who
    made it, from where, and since when its fires count."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    source: Source
    author: str = ""  # a sender id ("<platform>:<user id>"), "cli" or "config"
    reply_to: str | None = None  # the command's message id in report_to (chat call-outs)
    origin_key: str = ""  # the envelope key of the command that made it (idempotency)
    created: float = 0.0  # Unix time
    since: float | None = None  # only fires after this count; None: every fire counts

    @classmethod
    def of(
        cls,
        request: Request,
        *,
        id: str,
        source: Source,
        author: str,
        created: float,
        since: float | None,
        reply_to: str | None = None,
        origin_key: str = "",
    ) -> Callout:
        """The call-out that stores ``request`` (the one way a request becomes a call-out)."""
        return cls(
            **request.model_dump(), id=id, source=source, author=author, created=created,
            since=since, reply_to=reply_to, origin_key=origin_key,
        )  # fmt: skip


def from_config(entry: CalloutConfig, now: float) -> Callout:
    """A config call-out: every fire of an ``at`` counts (a past one is reported as
    skipped, or sent late within the grace period); a cron counts from now on."""
    request = Request.model_validate(entry.model_dump(exclude={"id"}))
    return Callout.of(request, id=entry.id, source="config", author="config", created=now,
                      since=None if entry.at is not None else now)  # fmt: skip


def iso(moment: datetime) -> str:
    """A fire time as keys and reports write it: UTC, to the minute."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)


def targets(callout: Request, config: Config) -> list[RoomConfig]:
    """The rooms a call-out goes to, in config order: its circles' rooms that receive, and
    the rooms it names (those even when they do not receive from circles)."""
    wanted: set[str] = set(callout.rooms)
    circles = {c.id: c for c in config.circles}
    for circle_id in callout.circles:
        circle = circles.get(circle_id)
        if circle is not None:
            wanted.update(r for r in circle.rooms if config.room(r).receive)
    return [r for r in config.rooms if r.id in wanted]


def zone_of(callout: Request, room: RoomConfig) -> ZoneInfo:
    return ZoneInfo(room.timezone if callout.mode == "local" else callout.tz)


@functools.lru_cache(maxsize=1024)
def _trigger(at: str | None, cron: str | None, zone: ZoneInfo) -> BaseTrigger:
    if at is not None:
        return DateTrigger(datetime.strptime(at, AT_FORMAT), timezone=zone)  # noqa: DTZ007
    assert cron is not None
    return schedule.parse_cron(cron, zone)


def next_fire(callout: Request, zone: ZoneInfo, after: datetime) -> datetime | None:
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


def occurrence(callout: Request, fire: datetime, zone: ZoneInfo) -> str:
    """What one report covers: one moment (instant), or one wall time in every room (local)."""
    if callout.mode == "instant":
        return iso(fire)
    return fire.astimezone(zone).strftime("%Y-%m-%dT%H:%M") + "L"


def upcoming(
    callout: Request, config: Config, after: datetime
) -> list[tuple[RoomConfig, datetime | None]]:
    """Each target room with its next fire after ``after``."""
    return [(room, next_fire(callout, zone_of(callout, room), after))
            for room in targets(callout, config)]  # fmt: skip


def local_and_utc(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"


# ---- checking input ------------------------------------------------------------------------


def new_callout(
    request: Request,
    config: Config,
    now: datetime,
    *,
    callout_id: str,
    source: Source,
    author: str,
    reply_to: str | None = None,
    origin_key: str = "",
) -> Callout:
    """A checked call-out from chat or the shell, counting from ``now`` (CalloutRefused when
    the input is bad)."""
    check_new(config, request, now)
    return Callout.of(request, id=callout_id, source=source, author=author,
                      created=now.timestamp(), since=now.timestamp(), reply_to=reply_to,
                      origin_key=origin_key)  # fmt: skip


def check_new(config: Config, request: Request, now: datetime) -> None:
    """Raise CalloutRefused with a one-line reason for bad input (chat or CLI)."""
    known_circles = {c.id for c in config.circles}
    known_rooms = {r.id for r in config.rooms}
    report_to = request.report_to
    if report_to is not None and report_to not in known_rooms:
        raise CalloutRefused(_("{room} is not a room of this network", room=repr(report_to)))
    for name in request.circles:
        if name not in known_circles:
            raise CalloutRefused(_("{circle} is not a circle of this network", circle=repr(name)))
    for name in request.rooms:
        if name not in known_rooms:
            raise CalloutRefused(_("{room} is not a room of this network", room=repr(name)))
    if not request.circles and not request.rooms:
        raise CalloutRefused(_("give a circle or a room to send it to"))
    at, cron, tz = request.at, request.cron, request.tz
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalloutRefused(_("{zone} is not a known timezone", zone=repr(tz))) from None
    try:
        check_language(request.language)
    except ValueError as exc:
        raise CalloutRefused(_("{reason}", reason=str(exc))) from None
    if not request.text.strip():
        raise CalloutRefused(_("the text is empty"))
    if (at is None) == (cron is None):
        raise CalloutRefused(_("give a date and time or a cron, one of the two"))
    if at is not None:
        try:
            datetime.strptime(at, AT_FORMAT)  # noqa: DTZ007 - a wall time, zoned per room
        except ValueError:
            raise CalloutRefused(
                _(
                    "{value} is not a date and time {format}",
                    value=repr(at),
                    format='"YYYY-MM-DD HH:MM"',
                )
            ) from None
    if cron is not None:
        try:
            schedule.parse_cron(cron, tz)
        except ValueError as exc:
            # TRANSLATORS: a cron expression's problem, said in English by the config layer
            raise CalloutRefused(_("{reason}", reason=str(exc))) from None
    rooms_to = targets(request, config)
    if not rooms_to:
        raise CalloutRefused(_("none of those rooms receives call-outs"))
    for room in rooms_to:
        when = next_fire(request, zone_of(request, room), now)
        if when is None:
            if request.mode == "local":
                raise CalloutRefused(
                    _("{at} has already passed in {room}", at=str(at), room=room.label)
                )
            raise CalloutRefused(_("{at} has already passed", at=str(at)))
    check_length(config, rooms_to, request.text)


def check_length(config: Config, rooms: Iterable[RoomConfig], text: str) -> None:
    """The text fits every room, counted as each room's platform counts (its adapter declares
    the limit, with room left for the heading and the translation note)."""
    for room in rooms:
        name = config.bot(room.bot).platform
        platform = load(name)
        # a loaded config names known platforms only; else the default a platform gets
        limit = platform.text_limit if platform is not None else Platform.text_limit
        size = limit.measure(text)
        if size > limit.size:
            raise CalloutRefused(
                _("the text is {size} {unit} long; {platform} rooms take at most {limit}",
                  size=size, unit=limit.unit, platform=name, limit=limit.size)
            )  # fmt: skip
