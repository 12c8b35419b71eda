"""A call-out's schedule in words, in the room's language: "every Friday at 17:00".

cron-descriptor was tried: it has no Catalan, leaves weekday names in English in every
language ("sólo el Monday") and reads "am 1 Tag des Monats" in German. The shapes organizers
write are few, so this is a small table of marked texts: every day, some weekdays, one day of
the month, each at a time; weekday names come from CLDR (Babel). Any other expression is shown
as it is, in code (``cron "..."``), which is honest and exact.
"""

from __future__ import annotations

import re
from datetime import datetime

from bridge.callouts.model import Request
from bridge.config.models import AT_FORMAT
from bridge.model.i18n import Listing, Message, Weekday, When, _

_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_NUMBER = re.compile(r"\d{1,2}")


def _weekdays(field: str) -> list[int] | None:
    """Crontab weekdays (a list or range of numbers or names) as Monday-first indexes."""
    days: list[int] = []
    for part in field.lower().split(","):
        lo, dash, hi = part.partition("-")
        ends = []
        for word in (lo, hi) if dash else (lo,):
            if word in _DAYS:
                ends.append(_DAYS.index(word))
            elif word.isdigit() and int(word) <= 7:
                ends.append(7 if dash and word == "7" else int(word) % 7)  # 5-7: Fri-Sun
            else:
                return None
        span = range(ends[0], ends[-1] + 1)
        days += [(d - 1) % 7 for d in span]
    return sorted(set(days))


def schedule_words(request: Request) -> Message:
    """When a call-out fires, in words (a date and time, or its cron)."""
    if request.at is not None:
        at = datetime.strptime(request.at, AT_FORMAT)  # noqa: DTZ007 - a wall time
        return _("on {when}", when=When(at))
    cron = request.cron or ""
    fields = cron.split()
    if len(fields) == 5 and _NUMBER.fullmatch(fields[0]) and _NUMBER.fullmatch(fields[1]):
        minute, hour, dom, month, dow = fields
        time = f"{int(hour):02d}:{int(minute):02d}"
        if month == "*" and dom == "*" and dow == "*":
            return _("every day at {time}", time=time)
        if month == "*" and dom == "*":
            days = _weekdays(dow)
            if days:
                return _("every {days} at {time}",
                         days=Listing(tuple(Weekday(d) for d in days)), time=time)  # fmt: skip
        if month == "*" and dow == "*" and _NUMBER.fullmatch(dom):
            return _("on day {day} of every month at {time}", day=int(dom), time=time)
    quoted = f'"{cron}"'
    return _("cron {expression}", expression=quoted)
