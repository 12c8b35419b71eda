"""The deployment files: the compose file as docker compose reads it, the systemd unit as
systemd reads it (each skipped when the tool is not installed)."""

from __future__ import annotations

import os
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
    assert any(v.endswith(":/config/translocal.yaml:ro") for v in bridge["volumes"])
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
