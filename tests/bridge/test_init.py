"""``translocal init``: a newcomer's first config, written from a few answers.

The files it writes are read back by the real loader and the real ``check``; the questions
are answered through a real pseudo-terminal, as a person at a shell answers them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pty
import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner, Result

from bridge.cli import cli
from bridge.config.load import load_config
from sandbox.libretranslate import LibreTranslateServer
from sandbox.telegram import BotApiServer
from tests.helpers import ROOT, TOKEN, run_cli

CITY = ("--label", "CDMX", "--language", "es", "--timezone", "America/Mexico_City")


def init(*args: str, cwd: Path) -> Result:
    """The real command, in this process (a subprocess each costs seconds of imports); its
    standard input is not a terminal, so nothing is asked."""
    with contextlib.chdir(cwd):
        return CliRunner().invoke(cli, ["init", *args], prog_name="translocal")


def env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k.strip(): v for k, v in pairs if not k.lstrip().startswith("#")}


def test_init_with_defaults_writes_a_commented_config_and_a_private_env_file(
    tmp_path: Path,
) -> None:
    result = init("site", "--yes", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    config = (tmp_path / "site" / "translocal.yaml").read_text()
    assert config.count("\n#") >= 5  # commented, for the person who edits it next
    data = yaml.safe_load(config)
    (bot,) = data["bots"]
    assert bot["token"] == "${TELEGRAM_TOKEN_LOCAL}"
    env = tmp_path / "site" / "translocal.env"
    assert env.stat().st_mode & 0o777 == 0o600
    assert env_file(env) == {"TELEGRAM_TOKEN_LOCAL": ""}
    assert "translocal check -c site/translocal.yaml" in result.stdout
    assert data["data_dir"] == "./translocal-data"
    systemd = init("etc", "--yes", "--data-dir", "/var/lib/translocal", cwd=tmp_path)
    assert systemd.exit_code == 0, systemd.stderr
    assert 'data_dir: "/var/lib/translocal"' in (tmp_path / "etc" / "translocal.yaml").read_text()


def test_init_with_flags_then_check_says_only_what_is_unreachable(tmp_path: Path) -> None:
    """The round trip: init, fill the env file with the sandbox's values, check."""
    result = init("site", *CITY, "--platform", "telegram", "--telegram-chat", "-1009999999999",
                  cwd=tmp_path)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    env = tmp_path / "site" / "translocal.env"
    filled = env.read_text().replace("TELEGRAM_TOKEN_CDMX=", f"TELEGRAM_TOKEN_CDMX={TOKEN}")
    env.write_text(filled)

    async def check() -> subprocess.CompletedProcess[str]:
        async with BotApiServer(limits=False) as tg, LibreTranslateServer() as lt:
            tg.add_bot(TOKEN, "cdmx_bot")  # the token works; the chat is not there
            values = {**env_file(env), "TELEGRAM_API_URL": tg.url, "LIBRETRANSLATE_URL": lt.url}
            return await asyncio.to_thread(
                run_cli, "check", "-c", "site/translocal.yaml", env=values, cwd=tmp_path
            )

    checked = asyncio.run(check())
    assert checked.returncode == 4, checked.stdout + checked.stderr
    rows = checked.stdout.splitlines()
    assert any(r.startswith("config ") and " ok " in r for r in rows), checked.stdout
    failed = [r for r in rows if "FAILED" in r]
    assert len(failed) == 1, checked.stdout
    assert failed[0].startswith("room cdmx"), checked.stdout
    assert "not in chat -1009999999999" in failed[0]
    assert "Traceback" not in checked.stderr
    assert TOKEN not in checked.stdout + checked.stderr


def test_the_config_never_holds_a_secret_and_the_loader_refuses_it_until_filled(
    tmp_path: Path,
) -> None:
    result = init("site", *CITY, "--platform", "both", "--matrix-user", "@bridge:example.org",
                  "--yes", cwd=tmp_path)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = yaml.safe_load((tmp_path / "site" / "translocal.yaml").read_text())
    secrets = [b.get("token") or b.get("password") for b in data["bots"]]
    assert secrets == ["${TELEGRAM_TOKEN_CDMX}", "${MATRIX_PASSWORD_CDMX}"]
    env = tmp_path / "site" / "translocal.env"
    assert set(env_file(env)) == {"TELEGRAM_TOKEN_CDMX", "MATRIX_PASSWORD_CDMX"}
    # the env file as written (empty values): refused, naming the keys; chats "later" too
    checked = run_cli("check", "-c", "site/translocal.yaml", env=env_file(env), cwd=tmp_path)
    assert checked.returncode == 3, checked.stdout + checked.stderr
    assert "bots[0].token: is empty" in checked.stderr
    assert "bots[1].password: is empty" in checked.stderr
    assert "rooms[0].chat: 'later' is not a Telegram chat id" in checked.stderr


def test_init_refuses_to_overwrite_an_existing_config_unless_forced(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "translocal.yaml").write_text("# my real config\n")
    result = init("site", "--yes", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"translocal init: {Path('site') / 'translocal.yaml'} exists; --force overwrites it"
    ]
    assert (site / "translocal.yaml").read_text() == "# my real config\n"
    assert not (site / "translocal.env").exists()  # nothing half-written
    forced = init("site", "--yes", "--force", cwd=tmp_path)
    assert forced.exit_code == 0, forced.stderr
    assert "bots:" in (site / "translocal.yaml").read_text()


def test_force_makes_an_existing_env_file_private_again(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "translocal.env").write_text("OLD=1\n")
    (site / "translocal.env").chmod(0o644)
    assert init("site", "--yes", cwd=tmp_path).exit_code == 2
    assert init("site", "--yes", "--force", cwd=tmp_path).exit_code == 0
    assert (site / "translocal.env").stat().st_mode & 0o777 == 0o600
    assert "OLD" not in (site / "translocal.env").read_text()


def test_init_refuses_a_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "site").write_text("not a folder")
    result = init("site", "--yes", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.strip() == "translocal init: site is a file, not a folder"


def test_init_refuses_a_symlinked_env_file(tmp_path: Path) -> None:
    """A link planted where the env file goes would send the secrets elsewhere."""
    site = tmp_path / "site"
    site.mkdir()
    elsewhere = tmp_path / "elsewhere"
    (site / "translocal.env").symlink_to(elsewhere)
    result = init("site", "--yes", "--force", cwd=tmp_path)
    assert result.exit_code == 2, result.stdout
    assert "is a symbolic link" in result.stderr
    assert not elsewhere.exists()


def test_bad_flags_get_one_clear_line_and_write_nothing(tmp_path: Path) -> None:
    cases = {
        ("--language", "xx"): "--language: 'xx' is not an ISO 639-1 language code",
        ("--language", "es-MX"): "(use 'es': regional variants are not supported)",
        ("--timezone", "Europe/Berlim"): "--timezone: 'Europe/Berlim' is not a known timezone",
        ("--timezone", "../../etc/passwd"): "is not a known timezone",
        ("--label", ""): "--label: is empty",
        ("--label", "x" * 65): "--label: is longer than 64 characters",
        ("--label", "two\nlines"): "--label: must be one line",
        ("--telegram-chat", "12ab"): "--telegram-chat: '12ab' is not a Telegram chat id",
        ("--platform", "both", "--matrix-room", "berlin"): "--matrix-room: 'berlin' is not a "
        "Matrix room id",
        ("--platform", "both", "--matrix-user", "bridge"): "--matrix-user: 'bridge' is not a "
        "Matrix user id",
        ("--data-dir", "a\nb"): "--data-dir: must be a folder's path, on one line",
        ("--translation-url", "ftp://x"): "--translation-url: 'ftp://x' is not an http:// or",
    }
    for args, message in cases.items():
        result = init("site", "--yes", *args, cwd=tmp_path)
        assert result.exit_code == 2, (args, result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert message in lines[0], (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "site").exists(), args


def test_a_label_cannot_smuggle_an_environment_variable_into_the_config(tmp_path: Path) -> None:
    label = 'Sa"n ${HOME} #1'
    result = init("site", "--yes", "--label", label, "--telegram-chat", "-1001", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    values = {"TELEGRAM_TOKEN_SA_N_HOME_1": TOKEN, "HOME": "/root"}
    cfg = load_config(tmp_path / "site" / "translocal.yaml", env=values).config
    assert cfg.rooms[0].label == label


def answer_in_a_terminal(args: list[str], answers: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``translocal init`` with a pseudo-terminal as stdin and stdout, typing answers."""
    primary, secondary = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bridge", "init", *args],
        stdin=secondary, stdout=secondary, stderr=secondary, cwd=cwd, env=env,
    )  # fmt: skip
    os.close(secondary)
    os.write(primary, "".join(a + "\n" for a in answers).encode())
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return process.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def test_a_bad_answer_in_a_terminal_is_asked_again(tmp_path: Path) -> None:
    answers = [
        "telegram",  # platform
        "San José",  # city label
        "xx",  # a language that is not one: asked again
        "es",
        "Europe/Berlim",  # a timezone that is not one: asked again
        "America/Costa_Rica",
        "12ab",  # a chat id of the wrong shape: asked again
        "later",
        "http://127.0.0.1:5000",
    ]
    code, output = answer_in_a_terminal(["site"], answers, tmp_path)
    assert code == 0, output
    assert "'xx' is not an ISO 639-1 language code" in output
    assert "'Europe/Berlim' is not a known timezone" in output
    assert "'12ab' is not a Telegram chat id" in output
    data = yaml.safe_load((tmp_path / "site" / "translocal.yaml").read_text())
    (room,) = data["rooms"]
    assert (room["label"], room["language"], room["timezone"], room["chat"]) == (
        "San José", "es", "America/Costa_Rica", "later",
    )  # fmt: skip
    assert data["bots"][0]["token"] == "${TELEGRAM_TOKEN_SAN_JOSE}"
