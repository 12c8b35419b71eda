"""The CLI's contract: commands, exit codes, ordered shutdown, no tracebacks."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
from pathlib import Path

import redis.asyncio

from bridge.infra.embedded_redis import EmbeddedRedis
from bridge.moderation.audit import Audit
from tests.helpers import TOKEN, Proc, lifecycle_config, minimal_config, run_cli, write_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli("frobnicate").returncode == 2
    path = write_config(tmp_path / "c.yaml", minimal_config(data_dir=str(tmp_path / "d")))
    assert run_cli("run", "-c", str(path), "--role", "everything").returncode == 2


def test_an_unreachable_redis_exits_4_with_one_line(tmp_path: Path) -> None:
    url = f"redis://:pw-not-for-logs@127.0.0.1:{free_port()}/0"
    path = write_config(tmp_path / "c.yaml", minimal_config(redis={"url": url}))
    result = run_cli("run", "-c", str(path))
    assert result.returncode == 4, result.stderr
    assert "is unreachable" in result.stderr
    assert "pw-not-for-logs" not in result.stderr
    assert "Traceback" not in result.stderr


def test_check_reports_a_table_and_exits_0_when_all_is_well(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", lifecycle_config(data_dir=str(tmp_path / "d")))
    result = run_cli("check", "-c", str(path), module="tests.relay_proc")
    assert result.returncode == 0, result.stderr
    rows = {
        line.split()[0] + " " + line.split()[1]: line for line in result.stdout.splitlines()[1:]
    }
    assert rows["config ok"]
    assert "redis 6.2" in rows["redis ok"]
    assert any(key.startswith("room cdmx") for key in rows)


def test_check_shows_literal_secret_warnings_without_failing(tmp_path: Path) -> None:
    key = "a-literal-pseudonym-key-that-is-long-enough-42"
    cfg = lifecycle_config(data_dir=str(tmp_path / "d"), pseudonym_key=key)
    path = str(write_config(tmp_path / "c.yaml", cfg))
    result = run_cli("check", "-c", path, module="tests.relay_proc")
    assert result.returncode == 0
    assert re.search(r"^pseudonym_key +warning +is a literal secret", result.stdout, re.M)
    assert key not in result.stdout + result.stderr


def test_check_exits_4_when_redis_is_unreachable(tmp_path: Path) -> None:
    cfg = minimal_config(redis={"url": f"redis://127.0.0.1:{free_port()}"})
    result = run_cli("check", "-c", str(write_config(tmp_path / "c.yaml", cfg)))
    assert result.returncode == 4
    assert re.search(
        r"^redis +FAILED +redis at redis://127\.0\.0\.1:\d+ is unreachable", result.stdout, re.M
    )


def test_run_stops_in_order_on_sigint_and_exits_0(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.yaml", lifecycle_config(data_dir=str(tmp_path / "d")))
    proc = Proc("run", "-c", str(path), "--log-format", "json")
    proc.wait_for("translocal is running")
    proc.popen.send_signal(signal.SIGINT)
    assert proc.wait() == 0
    messages = [line for line in proc.lines if line.startswith("{")]
    order = [m for m in messages if any(k in m for k in ("stopping", "stopped"))]
    assert '"stopping"' in order[0]
    assert "stopped the embedded redis-server" in order[-2]
    assert TOKEN not in "\n".join(proc.lines)


def test_demo_plays_the_whole_network_and_shows_what_each_room_saw() -> None:
    result = run_cli("demo", timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    cdmx = out.split("== CDMX")[1].split("== Berlin")[0]
    berlin = out.split("== Berlin")[1].split("== NYC")[0]
    nyc = out.split("== NYC")[1].split("Translation:")[0]
    # the refused /share, in CDMX's language, from the catalog (the command word intact)
    assert "Solo quienes moderan esta sala pueden usar /share." in cdmx
    # every copy's footer names its source language in the room's language
    assert "· traducido del alemán" in cdmx
    assert "· aus dem Spanischen übersetzt" in berlin
    assert "· translated from Spanish" in nyc
    # the shared thread, translated into each room's language, edited, with the reply
    assert "Blockade morgen um 7 Uhr vor dem Gebäude." in berlin
    assert "Blockade tomorrow at 7 in front of the building." in nyc
    assert "Estamos a vuestro lado" in cdmx
    assert "↳ in reply to Ana: Bloqueo mañana" in cdmx  # Jonas's answer is a reply to Ana
    assert "We stand with you" in nyc
    # the retracted message is gone from the far rooms (and Leo deleted it at home)
    assert "Necesitamos más gente" not in cdmx
    assert "Wir brauchen mehr Leute" not in berlin
    assert "We need more people" not in nyc
    # the call-out reached each city in its language, and its report the organizers
    assert "Hora de la solidaridad" in cdmx
    assert "Stunde der Solidarität" in berlin
    assert "Solidarity hour" in nyc
    assert "landed in 3 of 3 rooms" in nyc
    assert "sandbox LibreTranslate phrase table" in out


def test_audit_prints_the_trail_since_a_time_and_refuses_a_bad_since(tmp_path: Path) -> None:
    data = tmp_path / "d"
    path = str(write_config(tmp_path / "c.yaml", minimal_config(data_dir=str(data))))
    result = run_cli("audit", "-c", path, "--since", "last tuesday")
    assert result.returncode == 2
    assert "'last tuesday' is not 30m, 1h, 7d or YYYY-MM-DD" in result.stderr
    empty = run_cli("audit", "-c", path)
    assert empty.returncode == 0, empty.stderr
    assert "no audit entries since 7d" in empty.stdout

    server = EmbeddedRedis(data)
    server.start()
    try:

        async def record() -> None:
            client = redis.asyncio.Redis.from_url(server.url, decode_responses=True)
            trail = Audit(client, 90)
            await trail.record("telegram:2099", "cdmx", "share", "refused", message="41",
                               detail="needs moderator")  # fmt: skip
            await trail.record("telegram:2050", "cdmx", "share", "done", message="41")
            await client.aclose()

        asyncio.run(record())
        result = run_cli("audit", "-c", path, "--since", "1h")
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "telegram:2099" in lines[0]
    assert "refused" in lines[0]
    assert "message 41" in lines[0]
    assert "telegram:2050" in lines[1]
    assert "done" in lines[1]


def test_without_c_the_config_is_translocal_config_else_translocal_yaml(tmp_path: Path) -> None:
    nowhere = {"TRANSLOCAL_CONFIG": ""}
    result = run_cli("callouts", "list", env=nowhere, cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"translocal.yaml: no such file (the default, in {tmp_path}); "
        "give -c FILE or set TRANSLOCAL_CONFIG=FILE"
    ]
    absent = str(tmp_path / "absent.yaml")
    result = run_cli("callouts", "list", env={"TRANSLOCAL_CONFIG": absent}, cwd=tmp_path)
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        f"{absent}: no such file (from $TRANSLOCAL_CONFIG); "
        "give -c FILE or set TRANSLOCAL_CONFIG=FILE"
    ]

    callouts = [{"id": "weekly", "circles": ["housing"], "cron": "0 18 * * 5", "language": "en",
                 "text": "Assembly"}]  # fmt: skip
    write_config(tmp_path / "translocal.yaml", minimal_config(callouts=callouts))
    result = run_cli("callouts", "list", env=nowhere, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("weekly: every Friday at 18:00")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    from_env = {"TRANSLOCAL_CONFIG": str(tmp_path / "translocal.yaml")}
    result = run_cli("callouts", "list", env=from_env, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("weekly: every Friday at 18:00")


def test_c_and_log_level_work_before_or_after_the_subcommand(tmp_path: Path) -> None:
    path = str(write_config(tmp_path / "c.yaml", minimal_config(data_dir=str(tmp_path / "d"))))
    for args in (
        ("-c", path, "callouts", "list"),
        ("callouts", "list", "-c", path),
        ("--log-level", "INFO", "callouts", "list", "-c", path),
        ("-c", path, "callouts", "list", "--log-level", "INFO"),
        ("--log-level", "ERROR", "callouts", "list", "-c", path, "--log-level", "INFO"),
    ):
        result = run_cli(*args)
        assert result.returncode == 0, (args, result.stderr)
        assert ("redis 6.2" in result.stderr) == ("INFO" in args[-1:] + args[:2]), args
    both = run_cli("-c", str(tmp_path / "absent.yaml"), "callouts", "list", "-c", path)
    assert both.returncode == 0, both.stderr  # the one after the subcommand wins


def test_commands_that_start_no_bot_run_without_bot_secrets(tmp_path: Path) -> None:
    cfg = minimal_config(data_dir=str(tmp_path / "d"))
    cfg["bots"][0]["token"] = "${UNSET_TG_TOKEN}"  # type: ignore[index]
    cfg["bots"][1]["password"] = "${UNSET_MX_PASSWORD}"  # type: ignore[index]
    path = str(write_config(tmp_path / "c.yaml", cfg))
    for args in (("callouts", "list"), ("audit",)):
        result = run_cli(*args, "-c", path)
        assert result.returncode == 0, (args, result.stderr)
    result = run_cli("check", "-c", path)
    assert result.returncode == 3
    assert "environment variable UNSET_TG_TOKEN is not set" in result.stderr
