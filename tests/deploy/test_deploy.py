"""The deployment files: the compose file as docker compose reads it, the systemd unit as
systemd reads it (each skipped when the tool is not installed)."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _compose_available(), reason="docker compose is not installed")
def test_the_compose_file_passes_docker_compose_config() -> None:
    env = {**os.environ, "REDIS_PASSWORD": "test-only-password"}
    result = subprocess.run(
        ["docker", "compose", "-f", str(DEPLOY / "docker-compose.yml"), "config"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_the_compose_file_keeps_redis_durable_and_private() -> None:
    """What the file says, read as YAML (runs without docker too)."""
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    redis = compose["services"]["redis"]
    assert "--appendonly" in redis["command"]
    assert "--requirepass" in redis["command"]
    command = redis["command"]
    # no snapshot outlives a retract; a rewritten append-only file holds live entries only
    assert command[command.index("--save") + 1] == ""
    assert command[command.index("--aof-use-rdb-preamble") + 1] == "no"
    assert "ports" not in redis  # never published
    bridge = compose["services"]["translocal"]
    assert all(p.startswith("127.0.0.1:") for p in bridge["ports"])
    assert {"target": "/config/translocal.yaml", "read_only": True}.items() <= next(
        v for v in bridge["volumes"] if isinstance(v, dict)
    ).items()
    assert compose["services"]["libretranslate"]["profiles"] == ["libretranslate"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify insists that ExecStart's program exists: point it at this test run's translocal
    unit = (DEPLOY / "translocal.service").read_text()
    here = Path(sys.executable).parent / "translocal"
    assert here.exists()
    copy = tmp_path / "translocal.service"
    copy.write_text(unit.replace("/opt/translocal/.venv/bin/translocal", str(here)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, check=False
    )
    problems = [line for line in result.stderr.splitlines() if "translocal.service" in line]
    assert result.returncode == 0, result.stderr
    assert problems == [], problems
    for hardening in ("NoNewPrivileges=yes", "ProtectSystem=strict", "User=translocal"):
        assert hardening in unit


# --- the files agree with each other (no docker compose needed) --------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "bridge" / "examples" / "example.yaml"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*|:\?[^}]*)?\}")


def _names(path: Path) -> set[str]:
    """NAME of every NAME=value line of an env file, also of an optional one left commented
    (``# NAME=value``: documented, with the compose file's default until it is set)."""
    found = (
        re.match(r"\s*(?:# )?([A-Z][A-Z0-9_]*)=", line) for line in path.read_text().splitlines()
    )
    return {m.group(1) for m in found if m}


def _code(text: str) -> str:
    """The text without its comments (a commented line is not read)."""
    return "\n".join(line.split(" #", 1)[0] for line in text.splitlines()
                     if not line.lstrip().startswith("#"))  # fmt: skip


def _read_vars(text: str) -> set[str]:
    return {m.group(1) for m in _VAR.finditer(_code(text))}


def _unit() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (DEPLOY / "translocal.service").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_every_variable_the_example_config_reads_is_in_the_env_example_or_set_by_compose() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    set_by_compose = set(compose["services"]["translocal"].get("environment", {}))
    missing = _read_vars(EXAMPLE.read_text()) - _names(DEPLOY / ".env.example") - set_by_compose
    assert missing == set()


def test_every_variable_compose_interpolates_is_in_the_env_example() -> None:
    """Compose reads deploy/.env (beside the file) to interpolate; env_file: never is."""
    text = (DEPLOY / "docker-compose.yml").read_text()
    interpolated = _read_vars(text)
    assert interpolated - _names(DEPLOY / ".env.example") == set()
    env = (DEPLOY / ".env.example").read_text()
    required = {
        m.group(1) for m in _VAR.finditer(_code(text)) if not (m.group(2) or "").startswith(":-")
    }
    assert all(re.search(rf"^{name}=", env, re.M) for name in required), required
    assert not (DEPLOY / "translocal.env.example").exists()  # one env example, not two


def test_compose_passes_the_env_file_and_reaches_services_by_name() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    bridge = compose["services"]["translocal"]
    files = [f if isinstance(f, str) else f["path"] for f in bridge["env_file"]]
    assert ".env" in files
    environment = bridge["environment"]
    assert "@redis:6379" in environment["REDIS_URL"]
    assert "//libretranslate:5000" in environment["LIBRETRANSLATE_URL"]


def test_a_missing_config_file_is_an_error_not_a_new_directory() -> None:
    """A short-syntax bind mount of a missing file makes a directory in its place."""
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    volumes = compose["services"]["translocal"]["volumes"]
    (mount,) = [v for v in volumes if isinstance(v, dict) and v["target"].endswith(".yaml")]
    assert mount["type"] == "bind"
    assert mount["read_only"] is True
    assert mount["bind"]["create_host_path"] is False
    assert not any(isinstance(v, str) and "translocal.yaml" in v
                   for v in compose["services"]["translocal"]["volumes"])  # fmt: skip


def test_compose_waits_as_long_as_systemd_for_a_clean_stop() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    grace = compose["services"]["translocal"]["stop_grace_period"]
    assert re.fullmatch(r"\d+s", grace)
    assert _unit()["TimeoutStopSec"] == [grace.removesuffix("s")]


def test_systemd_does_not_restart_on_a_usage_or_config_error() -> None:
    """Exit 2 and 3 (bridge/cli.py) do not heal by restarting: no loop, the unit fails."""
    cli = Path(__file__).resolve().parents[2] / "bridge" / "cli.py"
    doc = ast.get_docstring(ast.parse(cli.read_text())) or ""
    assert "2 usage error" in doc
    assert "3 config error" in doc
    unit = _unit()
    assert unit["Restart"] == ["on-failure"]
    assert set(unit["RestartPreventExitStatus"][0].split()) == {"2", "3"}
    # required: a missing environment file fails the start instead of being ignored
    assert unit["EnvironmentFile"] == ["/etc/translocal/translocal.env"]


def test_the_image_builds_from_the_repository_and_runs_as_its_own_user() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "COPY config" not in dockerfile  # the examples ship inside the package now
    assert re.search(r"^USER translocal$", dockerfile, re.M)
    assert "COPY bridge /src/bridge" in dockerfile
