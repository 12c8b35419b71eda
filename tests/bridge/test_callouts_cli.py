"""`translocal callouts` from the shell, and scheduler processes sharing one Redis."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import redis.asyncio

from bridge.model import keys
from bridge.model.envelope import Delivery
from tests.bridge.test_callouts_schedule import ROOMS
from tests.helpers import Proc, run_cli, write_config


def config_file(tmp_path: Path, redis_url: str, **extra: object) -> str:
    cfg: dict[str, object] = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url},
        "bots": [{"id": b, "platform": "memory"} for b in ("a", "b", "c")],
        "rooms": ROOMS,
        "circles": [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"]}],
        **extra,
    }
    return str(write_config(tmp_path / "c.yaml", cfg))


def cli(*args: str) -> tuple[int, str, str]:
    result = run_cli("callouts", *args, module="tests.relay_proc")
    return result.returncode, result.stdout, result.stderr


def test_add_list_preview_cancel_from_the_shell(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    path = config_file(tmp_path, redis_url)
    args = ("--circle", "net", "--at", "2099-06-05 18:00", "--mode", "local")
    code, out, err = cli("add", "-c", path, *args, "--language", "en", "--text", "Rally at noon")
    assert code == 0, err
    callout_id = out.strip()
    assert len(callout_id) == 6

    code, out, _ = cli("list", "-c", path)
    assert code == 0
    assert (
        f"{callout_id}: on Fri, Jun 5, 2099, 18:00 (at each room's local time) to circle net, "
        "in English, from cli" in out
    )  # the shell speaks English

    code, out, _ = cli("preview", callout_id, "-c", path)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        f"Call-out {callout_id}, on Fri, Jun 5, 2099, 18:00 (at each room's local time):"
    )
    assert "- NYC (English): Fri, Jun 5, 2099, 18:00 EDT (Fri, Jun 5, 2099, 22:00 UTC)" in lines
    assert (
        "- Berlin (German): Fri, Jun 5, 2099, 18:00 CEST (Fri, Jun 5, 2099, 16:00 UTC) "
        "(not translated)" in lines
    )
    # no translation configured: the text as written, under each room's own heading
    assert "  Call-out: Rally at noon" in lines
    assert "  Aufruf: Rally at noon" in lines

    code, out, _ = cli("cancel", callout_id, "-c", path)
    assert (code, out.strip()) == (0, f"cancelled {callout_id}")
    assert cli("list", "-c", path)[1] == ""


def test_bad_input_from_the_shell_exits_2_with_one_line(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    path = config_file(tmp_path, redis_url)
    base = ("add", "-c", path, "--language", "en", "--text", "Hi")
    cases = [
        (("--circle", "net", "--at", "2001-01-01 18:00"), "2001-01-01 18:00 has already passed"),
        (("--circle", "net", "--at", "June 5th"), "'June 5th' is not a date and time"),
        (("--circle", "nope", "--at", "2099-01-01 18:00"), "'nope' is not a circle"),
        (("--room", "paris", "--at", "2099-01-01 18:00"), "'paris' is not a room"),
        (("--circle", "net", "--cron", "0 0 31 4 *"), "never fires"),
        (("--circle", "net", "--cron", "0 18 * *"), "has 4 fields"),
        (("--circle", "net", "--mode", "instant", "--tz", "Mars/Olympus", "--at",
          "2099-01-01 18:00"), "'Mars/Olympus' is not a known timezone"),
    ]  # fmt: skip
    for extra, reason in cases:
        code, _, err = cli(*base, *extra)
        assert code == 2, (extra, err)
        assert err.count("\n") == 1, err
        assert reason in err
        assert "Traceback" not in err
    assert cli("list", "-c", path)[1] == ""


def test_a_config_at_that_has_passed_is_not_an_error(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    callouts = [{"id": "old", "circles": ["net"], "at": "2001-01-01 18:00", "language": "en",
                 "text": "Long ago", "report_to": "nyc"}]  # fmt: skip
    path = config_file(tmp_path, redis_url, callouts=callouts)
    code, out, err = cli("list", "-c", path)
    assert code == 0, err
    assert out.splitlines() == [
        "old: on Mon, Jan 1, 2001, 18:00 (at each room's local time) to circle net, in English, "
        "from config; nothing left to fire",
        "  in the config file; loaded when `translocal run` starts",
    ]


def test_a_config_schedule_is_listed_with_its_next_run_and_cannot_be_cancelled_here(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    callouts = [{"id": "weekly", "circles": ["net"], "cron": "0 18 * * 5", "mode": "instant",
                 "tz": "Europe/Berlin", "language": "en", "text": "Assembly tonight"}]  # fmt: skip
    path = config_file(tmp_path, redis_url, callouts=callouts)
    code, out, err = cli("list", "-c", path)
    assert code == 0, err
    first, second = out.splitlines()
    assert first.startswith("weekly: every Friday at 18:00 (at the same moment everywhere, "
                            "Europe/Berlin time) to circle net, in English, from config; next "
                            "Fri, ")  # fmt: skip
    assert first.endswith(", 17:00 UTC") or first.endswith(", 16:00 UTC")  # CET or CEST
    assert second == "  in the config file; loaded when `translocal run` starts"
    code, out, err = cli("cancel", "weekly", "-c", path)
    assert code == 2
    assert err.splitlines() == [
        f"translocal: 'weekly' comes from the config file {path} (callouts[0]); delete that "
        "entry there and restart `translocal run` to stop it"
    ]
    assert cli("list", "-c", path)[1].startswith("weekly: ")  # nothing changed


def test_callouts_list_from_another_folder_finds_the_data_beside_the_config(
    tmp_path: Path,
) -> None:
    """The issue's story: a relative data_dir followed the working directory, so `callouts
    list` run from elsewhere silently made a new, empty data dir and listed nothing."""
    site = tmp_path / "site"
    site.mkdir()
    cfg = {"data_dir": "./data", "bots": [{"id": b, "platform": "memory"} for b in "abc"],
           "rooms": ROOMS, "circles": [{"id": "net", "rooms": ["cdmx", "nyc"]}]}  # fmt: skip
    write_config(site / "c.yaml", cfg)
    add = ("callouts", "add", "-c", "c.yaml", "--circle", "net", "--at", "2099-06-05 18:00",
           "--language", "en", "--text", "Rally")  # fmt: skip
    added = run_cli(*add, cwd=site, module="tests.relay_proc")
    assert added.returncode == 0, added.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = run_cli("callouts", "list", "-c", "../site/c.yaml", cwd=elsewhere,
                     module="tests.relay_proc")  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(f"{added.stdout.strip()}: on Fri, Jun 5, 2099, 18:00")
    assert list(elsewhere.iterdir()) == []
    assert (site / "data").is_dir()


async def test_two_scheduler_processes_send_every_fire_exactly_once(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    callouts = [
        {"id": "every-minute", "circles": ["net"], "cron": "* * * * *", "mode": "instant",
         "language": "en", "text": "Tick"},
        {"id": "local-hourly", "circles": ["net"], "cron": "0 * * * *", "mode": "local",
         "language": "en", "text": "Hour"},
    ]  # fmt: skip
    path = config_file(tmp_path, redis_url, callouts=callouts)
    run = ("run", "-c", path, "--role", "scheduler", "--clock-speed", "600")
    one = Proc(*run)
    one.wait_for("translocal is running")
    two = Proc(*run)
    two.wait_for("translocal is running")
    time.sleep(4)  # about 40 minutes of call-out time with both running
    assert one.stop() == 0
    assert two.stop() == 0
    sent: list[Delivery] = []
    for bot in ("a", "b", "c"):
        for _, fields in await redis_client.xrange(keys.outbox(bot)):
            sent.append(Delivery.model_validate_json(fields["d"]))
    calls = [d.key for d in sent if not d.notice]
    assert len(calls) == len(set(calls)), "a fire was sent twice"
    minutes: dict[str, list[str]] = {}
    for key in calls:
        if key.startswith("callout:every-minute:"):
            stamp, room = key.split(":", 2)[2].rsplit(":", 1)
            minutes.setdefault(room, []).append(stamp)
    assert set(minutes) == {"cdmx", "berlin", "nyc"}
    assert len(minutes["nyc"]) >= 20
    for stamps in minutes.values():  # every minute, none missing, none twice
        assert stamps == sorted(stamps)
        times = [time.mktime(time.strptime(s, "%Y-%m-%dT%H:%MZ")) for s in stamps]
        assert all(b - a == 60 for a, b in itertools.pairwise(times))
    queued_by = [line for p in (one, two) for line in p.lines if "queued for" in line]
    assert any(line in one.lines for line in queued_by)
    assert any(line in two.lines for line in queued_by)
