"""Cron expressions with standard crontab meaning, computed by APScheduler 3 triggers.

APScheduler 3's ``CronTrigger`` numbers weekdays from Monday (0) where crontab numbers them
from Sunday (0 and 7), and it ANDs day-of-month with day-of-week where crontab ORs them when
both are restricted. ``parse_cron`` converts both, so ``0 18 * * 5`` means Fridays here too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

_NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# crontab numbering: 0 (and 7) is Sunday
_CRON_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")


def _day_number(token: str) -> int:
    token = token.lower()
    if token in _CRON_DAYS:
        return _CRON_DAYS.index(token)
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    raise ValueError(f"day of week {token!r} is not 0-7 or SUN-SAT")


def _weekdays(field: str) -> set[int]:
    """The crontab day-of-week field as a set of crontab day numbers (0 = Sunday)."""
    days: set[int] = set()
    for part in field.split(","):
        body, _, step_s = part.partition("/")
        if step_s and not step_s.isdigit():
            raise ValueError(f"day of week step {step_s!r} is not a number")
        step = int(step_s) if step_s else 1
        if step < 1:
            raise ValueError("day of week step must be at least 1")
        if body == "*":
            lo, hi = 0, 6
        elif "-" in body:
            a, _, b = body.partition("-")
            lo, hi = _day_number(a), _day_number(b)
            if b.strip() == "7":
                hi = 7  # 5-7 means Friday to Sunday
            if hi < lo:
                raise ValueError(f"day of week range {body!r} runs backwards")
        else:
            lo = hi = _day_number(body)
            if step_s:
                hi = 6
        days.update(d % 7 for d in range(lo, hi + 1, step))
    return days


def _aps_weekdays(field: str) -> str:
    if field == "*":
        return "*"
    days = _weekdays(field)
    # APScheduler accepts weekday names; names avoid its Monday-first numbering altogether.
    return ",".join(_CRON_DAYS[d] for d in sorted(days))


def parse_cron(expr: str, timezone: str | ZoneInfo) -> BaseTrigger:
    """Build a trigger for a five-field crontab expression (or an @nickname) in ``timezone``.

    Raises ValueError with a one-line reason when the expression does not parse or never fires.
    """
    text = " ".join(expr.split()).lower()
    text = _NICKNAMES.get(text, text)
    fields = text.split(" ")
    if len(fields) != 5:
        raise ValueError(f"{expr!r} has {len(fields)} fields; a cron needs 5: m h dom mon dow")
    minute, hour, dom, month, dow = fields
    for name, value in zip(_FIELD_NAMES, fields, strict=True):
        if not re.fullmatch(r"[0-9a-z*,/\-]+", value):
            raise ValueError(f"{expr!r}: {name} {value!r} has characters cron does not use")
    tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    try:
        aps_dow = _aps_weekdays(dow)

        def cron(day: str, day_of_week: str) -> CronTrigger:
            return CronTrigger(
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=day_of_week,
                timezone=tz,
            )

        trigger: BaseTrigger
        if not dom.startswith("*") and not dow.startswith("*"):
            # crontab: when both are restricted, either one matching is enough
            trigger = OrTrigger([cron(dom, "*"), cron("*", aps_dow)])
        else:
            trigger = cron(dom, aps_dow)
    except ValueError as exc:
        raise ValueError(f"{expr!r} is not a valid cron expression: {exc}") from None
    if next_fire(trigger, datetime.now(tz)) is None:
        raise ValueError(f"{expr!r} never fires")
    return trigger


def next_fire(trigger: BaseTrigger, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after`` (an aware datetime), in UTC, or None.

    In UTC because a local time in a daylight-saving gap (02:30 on a spring-forward night) is
    a wall time that never shows on a clock; its instant is what the fire loop compares.

    A date that does not exist (the 30th of February, the 31st of April) in every month named
    makes APScheduler search until year 9999; a horizon of eight years (two leap cycles)
    answers "never" instead.
    """
    horizon = after + timedelta(days=366 * 8)
    probe = after + timedelta(microseconds=1)
    if isinstance(trigger, OrTrigger):
        times = [next_fire(t, after) for t in trigger.triggers]
        found = [t for t in times if t is not None]
        return min(found) if found else None
    if isinstance(trigger, CronTrigger):
        # A CronTrigger without an end date walks forward; bound it at the horizon.
        bounded = CronTrigger(
            **{f.name: str(f) for f in trigger.fields if not f.is_default},
            timezone=trigger.timezone,
            end_date=horizon,
        )
        fire: datetime | None = bounded.get_next_fire_time(None, probe)
        return fire.astimezone(UTC) if fire else None
    result: datetime | None = trigger.get_next_fire_time(None, probe)
    return result.astimezone(UTC) if result else None
