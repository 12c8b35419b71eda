"""The documented install path, as a newcomer takes it: a wheel built from the repository,
installed into a fresh virtualenv outside the repository, then ``translocal --help``,
``translocal init`` and ``translocal demo`` run from a folder that is not the repository.

What the wheel leaves out (the example and demo configs were once left in ``config/``)
shows here and nowhere else: every other test runs on the editable install, which sees the
whole source tree. Nothing is downloaded: the wheel is built without build isolation (with
the project venv's setuptools), and the fresh venv borrows the project venv's dependencies
through a ``.pth`` file, so only translocal itself comes from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "bots", "bridge", "translation", "sandbox")


def _run(*command: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PYTHONNOUSERSITE"] = "1"
    return subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (outside the repository) with the wheel built from the repository; its
    ``bin`` folder."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"  # a copy, so that the build leaves nothing in the repository
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    dist = base / "dist"
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                 "--no-index", "-w", dist, source, cwd=base)  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("translocal-*.whl")

    venv = base / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=base)
    assert made.returncode == 0, made.stderr
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    (site / "project-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    python = venv / "bin" / "python"
    put = _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
               "--no-index", wheel, cwd=base)  # fmt: skip
    assert put.returncode == 0, put.stdout + put.stderr
    where = _run(python, "-c", "import bridge; print(bridge.__file__)", cwd=base)
    assert where.stdout.strip().startswith(str(site)), where.stdout + where.stderr
    return venv / "bin"


def test_the_installed_command_shows_its_help(installed: Path, tmp_path: Path) -> None:
    result = _run(installed / "translocal", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for command in ("run", "check", "demo", "init", "callouts", "translate", "audit"):
        assert f"  {command} " in result.stdout, command


def test_init_writes_a_config_the_installed_check_reads(installed: Path, tmp_path: Path) -> None:
    result = _run(installed / "translocal", "init", "site", "--yes", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "translocal.yaml").is_file()
    assert (tmp_path / "site" / "translocal.env").stat().st_mode & 0o777 == 0o600
    assert "translocal check -c" in result.stdout
    # the env file still holds no secret: check names what to fill in, as a config error
    check = _run(installed / "translocal", "check", "-c", "site/translocal.yaml", cwd=tmp_path)
    assert check.returncode == 3, check.stdout + check.stderr
    assert "TELEGRAM_TOKEN_" in check.stderr
    assert "Traceback" not in check.stderr


@pytest.mark.slow
def test_the_installed_demo_plays_its_scene(installed: Path, tmp_path: Path) -> None:
    result = _run(installed / "translocal", "demo", cwd=tmp_path, timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "The demo network (demo.yaml)" in result.stdout
    assert "✓ Berlin sees the thread in German" in result.stdout
    assert "✓ CDMX sees Jonas's answer in Spanish, as a reply to Ana" in result.stdout
    assert list(tmp_path.iterdir()) == []  # it leaves nothing in the folder it ran from
