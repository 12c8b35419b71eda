"""Cron expressions keep their crontab meaning on top of APScheduler 3's triggers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bridge.config.cron import next_fire, parse_cron

UTC = ZoneInfo("UTC")
START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # a Sunday


def fires(expr: str, count: int, tz: str = "UTC", start: datetime = START) -> list[datetime]:
    trigger = parse_cron(expr, tz)
    out: list[datetime] = []
    when = start
    for _ in range(count):
        found = next_fire(trigger, when)
        assert found is not None
        out.append(found)
        when = found
    return out


def test_friday_is_5_as_in_crontab() -> None:
    times = fires("0 18 * * 5", 3)
    assert [t.strftime("%a %H:%M") for t in times] == ["Fri 18:00"] * 3
    assert [t.day for t in times] == [27, 4, 11]


@pytest.mark.parametrize("sunday", ["0", "7", "SUN", "sun"])
def test_sunday_is_0_or_7_or_its_name(sunday: str) -> None:
    assert {t.strftime("%a") for t in fires(f"0 9 * * {sunday}", 3)} == {"Sun"}


def test_ranges_and_steps_use_crontab_numbers() -> None:
    assert [t.strftime("%a") for t in fires("0 9 * * 1-5", 5)] == [
        "Mon",
        "Tue",
        "Wed",
        "Thu",
        "Fri",
    ]
    assert [t.strftime("%a") for t in fires("0 9 * * 5-7", 3)] == ["Fri", "Sat", "Sun"]
    assert [t.strftime("%a") for t in fires("0 9 * * */2", 4)] == ["Tue", "Thu", "Sat", "Sun"]
    assert [t.strftime("%a") for t in fires("0 9 * * MON-WED", 3)] == ["Mon", "Tue", "Wed"]


def test_day_of_month_or_day_of_week_when_both_are_given() -> None:
    # crontab: the 1st of the month OR any Monday
    days = [t.strftime("%a %d") for t in fires("0 9 1 * 1", 4)]
    assert days == ["Mon 23", "Mon 30", "Tue 01", "Mon 07"]


def test_times_are_in_the_given_zone() -> None:
    (first,) = fires("0 18 * * *", 1, tz="Europe/Berlin")
    assert first.astimezone(UTC).strftime("%d %H:%M") == "22 17:00"  # CET is UTC+1


def test_a_dst_gap_fires_as_apscheduler_computes_it() -> None:
    # 02:30 does not exist in Berlin on 2027-03-28; APScheduler fires at 03:30 local time
    start = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)
    (fire,) = fires("30 2 28 3 *", 1, tz="Europe/Berlin", start=start)
    local = fire.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.day, local.hour, local.minute) == (28, 3, 30)


def test_nicknames() -> None:
    assert [t.strftime("%H:%M") for t in fires("@daily", 2)] == ["00:00", "00:00"]


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("0 18 * *", "has 4 fields"),
        ("61 * * * *", "is not a valid cron expression"),
        ("0 18 * * 8", "is not a valid cron expression"),
        ("0 18 * * 5-1", "runs backwards"),
        ("0 0 30 2 *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
        ("0 18 * * 5;rm", "has characters cron does not use"),
    ],
)
def test_bad_expressions_say_why(expr: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_cron(expr, "UTC")


def test_february_29_fires_in_a_leap_year() -> None:
    (fire,) = fires("0 12 29 2 *", 1)
    assert (fire.year, fire.month, fire.day) == (2028, 2, 29)
