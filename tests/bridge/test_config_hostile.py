"""Hostile config input: alias bombs, huge and deep files, floods of errors, secrets in Redis
URLs and secret files. Each is refused with a short, exact answer (exit 3), never a
traceback, and no secret is ever printed, not even its start."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.config.load import load_config
from bridge.infra.embedded_redis import find_redis_server
from bridge.model.errors import ConfigError
from tests.harness import eventually
from tests.helpers import ENV, ROOT, lifecycle_config, minimal_config, run_cli, write_config

# in a base64 password: every character that breaks a naive URL parser
AWKWARD = "Zm9v/YmFy@cXV4:ZW5k#aGk?x+y=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_limited(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``translocal`` in a process that may use at most 1.5 GB: a config must never take more."""
    import resource

    def limit() -> None:
        cap = 1536 * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        preexec_fn=limit,  # no threads are started in this process
        timeout=300,
        check=False,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 3, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    return lines[0]


def test_a_billion_laughs_alias_bomb_is_refused_with_one_line(tmp_path: Path) -> None:
    bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        bomb.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(bomb) + "\n")
    started = time.monotonic()
    line = one_error_line(cli_limited("check", "-c", str(path)))
    print(f"alias bomb refused in {time.monotonic() - started:.2f} s")  # a figure for the report
    assert line.startswith(f"{path}:")
    assert "aliases" in line


def test_a_few_aliases_for_shared_settings_still_work(tmp_path: Path) -> None:
    text = write_config(tmp_path / "c.yaml", minimal_config()).read_text()
    text = text.replace("  language: es\n", "  language: &lang es\n", 1)
    text = text.replace("  language: de\n", "  language: *lang\n", 1)
    loaded = load_config(_written(tmp_path / "c.yaml", text), env=ENV)
    assert loaded.config.room("berlin").language == "es"


def _written(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_file_over_one_megabyte_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# padding\n" * 220_000)  # 2.2 MB of comments: valid YAML, and empty
    line = one_error_line(run_cli("check", "-c", str(path)))
    assert line == f"{path}: is 2.2 MB; a config file may be at most 1 MB"


def test_a_deeply_nested_file_is_refused_with_one_line(tmp_path: Path) -> None:
    path = _written(tmp_path / "deep.yaml", "a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    line = one_error_line(run_cli("check", "-c", str(path)))
    assert line.startswith(f"{path}:")
    assert "nested too deeply" in line


def test_twenty_thousand_unknown_keys_print_fifty_lines_and_a_count(tmp_path: Path) -> None:
    cfg = minimal_config(**{f"key{i}": i for i in range(20_000)})
    path = write_config(tmp_path / "c.yaml", cfg)
    result = run_cli("check", "-c", str(path), timeout=300)
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 51, lines[:3] + lines[-3:]
    assert re.fullmatch(rf"{re.escape(str(path))}:\d+: key0: is not a known key", lines[0])
    assert lines[-1] == "... and 19950 more"


def test_cli_errors_are_prefixed_with_file_and_line(tmp_path: Path) -> None:
    cfg = minimal_config()
    cfg["rooms"][1]["timezone"] = "Europe/Berlim"  # type: ignore[index]
    path = write_config(tmp_path / "c.yaml", cfg)
    line = one_error_line(run_cli("check", "-c", str(path)))
    number = next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if "Europe/Berlim" in text
    )
    assert line == f"{path}:{number}: rooms[1].timezone: 'Europe/Berlim' is not a known timezone"


@contextlib.contextmanager
def redis_with_password(password: str) -> Iterator[int]:
    """A real redis-server on a free local port that requires ``password``."""
    binary = find_redis_server()
    assert binary is not None
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--requirepass",
            password,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def listening() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        asyncio.run(eventually(listening, what="redis-server listening"))
        yield port
    finally:
        proc.terminate()
        proc.wait(30)


def _leaks(text: str, password: str) -> list[str]:
    """Any piece of the password of 4 characters or more that shows in ``text``."""
    return [password[i : i + 4] for i in range(len(password) - 3) if password[i : i + 4] in text]


def test_a_redis_password_with_slash_at_colon_and_hash_connects(tmp_path: Path) -> None:
    wrong = AWKWARD.replace("Zm9v", "Zm9w")
    with redis_with_password(AWKWARD) as port:
        url = f"redis://:${{REDIS_PASSWORD}}@127.0.0.1:{port}/0"  # as the docs write it
        path = str(write_config(tmp_path / "c.yaml", lifecycle_config(redis={"url": url})))
        args = ("callouts", "list", "-c", path)
        right = run_cli(*args, env={"REDIS_PASSWORD": AWKWARD}, module="tests.relay_proc")
        assert (right.returncode, right.stderr) == (0, "")
        result = run_cli(*args, env={"REDIS_PASSWORD": wrong}, module="tests.relay_proc")
    assert result.returncode == 4, result.stderr[-3000:]
    assert result.stderr.strip().splitlines() == [
        f"translocal: redis at redis://:***@127.0.0.1:{port}/0 refused the credentials"
    ]
    assert not _leaks(result.stderr, wrong)


def test_an_unreachable_redis_with_an_awkward_password_never_prints_it(tmp_path: Path) -> None:
    url = f"redis://user:${{REDIS_PASSWORD}}@127.0.0.1:{free_port()}/0"
    path = write_config(tmp_path / "c.yaml", lifecycle_config(redis={"url": url}))
    result = run_cli("callouts", "list", "-c", str(path), env={"REDIS_PASSWORD": AWKWARD},
                     module="tests.relay_proc")  # fmt: skip
    assert result.returncode == 4, result.stderr[-3000:]
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr[-3000:]
    assert "redis://user:***@127.0.0.1:" in result.stderr
    assert not _leaks(result.stderr, AWKWARD)


@pytest.mark.parametrize("password", ["changeme", "CHANGE_ME", "your-redis-pw", "<redis pw>"])
def test_a_placeholder_redis_password_is_refused(tmp_path: Path, password: str) -> None:
    cfg = minimal_config(redis={"url": f"redis://:{password}@127.0.0.1:6379/0"})
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path / "c.yaml", cfg), env=ENV)
    lines = [str(p) for p in info.value.problems]
    assert any(line.startswith("redis.url: still holds a placeholder password") for line in lines)
    assert not [line for line in lines if password in line]


def test_a_bad_redis_url_is_refused_without_echoing_its_password(tmp_path: Path) -> None:
    cfg = minimal_config(redis={"url": f"http://:{AWKWARD}@127.0.0.1:6379/0"})
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path / "c.yaml", cfg), env=ENV)
    text = "\n".join(str(p) for p in info.value.problems)
    assert "redis.url: 'http' is not redis://, rediss:// or unix://" in text
    assert not _leaks(text, AWKWARD)


def secret_config(tmp_path: Path, token: str) -> Path:
    cfg = minimal_config()
    cfg["bots"][0]["token"] = token  # type: ignore[index]
    return write_config(tmp_path / "c.yaml", cfg)


def secret_file(path: Path, content: str, mode: int = 0o600) -> Path:
    path.write_text(content)
    path.chmod(mode)
    return path


def test_a_secret_is_read_from_a_file_without_its_trailing_newline(tmp_path: Path) -> None:
    from tests.helpers import TOKEN

    secret = secret_file(tmp_path / "tg_token", TOKEN + "\n")
    loaded = load_config(secret_config(tmp_path, f"${{file:{secret}}}"), env=ENV)
    assert loaded.config.bot("tg").token.get_secret_value() == TOKEN  # type: ignore[attr-defined]
    assert loaded.warnings == []  # not a literal secret
    relative = secret_config(tmp_path, "${file:tg_token}")  # beside the config file
    elsewhere = load_config(relative, env=ENV)
    assert elsewhere.config.bot("tg").token.get_secret_value() == TOKEN  # type: ignore[attr-defined]


def test_a_missing_secret_file_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = secret_config(tmp_path, "${file:/run/secrets/absent_token}")
    with pytest.raises(ConfigError) as info:
        load_config(path, env=ENV)
    assert [str(p).split(" (line")[0] for p in info.value.problems] == [
        "bots[0].token: cannot read the secret file /run/secrets/absent_token: "
        "No such file or directory"
    ]


@pytest.mark.parametrize("target", ["/dev/zero", "/tmp"])  # read, never written
def test_a_secret_file_that_is_no_regular_file_is_refused_without_reading(
    tmp_path: Path, target: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(secret_config(tmp_path, f"${{file:{target}}}"), env=ENV)
    (problem,) = info.value.problems
    assert problem.path == "bots[0].token"
    assert problem.message == f"the secret file {target} is not a regular file"


def test_a_bad_secret_from_a_file_is_refused_without_showing_it(tmp_path: Path) -> None:
    secret = secret_file(tmp_path / "tg_token", "changeme\n")
    big = secret_file(tmp_path / "big", "x" * 100_000)
    for token in (f"${{file:{secret}}}", f"${{file:{big}}}"):
        with pytest.raises(ConfigError) as info:
            load_config(secret_config(tmp_path, token), env=ENV)
        text = "\n".join(str(p) for p in info.value.problems)
        assert text.startswith("bots[0].token: "), text
        assert "changeme" not in text
        assert "xxxx" not in text


def test_a_world_readable_secret_file_is_a_warning(tmp_path: Path) -> None:
    from tests.helpers import TOKEN

    secret = secret_file(tmp_path / "tg_token", TOKEN, mode=0o644)
    loaded = load_config(secret_config(tmp_path, f"${{file:{secret}}}"), env=ENV)
    assert [str(w).split(" (line")[0] for w in loaded.warnings] == [
        f"bots[0].token: the secret file {secret} can be read by every user of this machine; "
        f"chmod 600 {secret}"
    ]
    assert TOKEN not in str(loaded.warnings)
