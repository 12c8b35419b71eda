"""The layout holds: the import contract (design.md, "Dependencies point one way") is kept
and catches a wrong import, the core loads no platform library, and modules stay small."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
COMPOSITION_ROOT = {"__init__.py", "__main__.py", "app.py", "cli.py", "check.py", "discover.py"}


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(where / "pyproject.toml"), "--no-cache"],
        cwd=where, capture_output=True, text=True, timeout=120, check=False,
        env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip


def test_the_import_contract_is_kept() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 broken" in result.stdout


def test_an_adapter_importing_the_relay_breaks_the_contract(tmp_path: Path) -> None:
    copy = tmp_path / "tree"
    copy.mkdir()
    shutil.copy(ROOT / "pyproject.toml", copy)
    for package in ("bridge", "bots", "translation", "sandbox"):
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    render = copy / "bots" / "telegram" / "render.py"
    render.write_text(render.read_text() + "\nfrom bridge.relay import router  # noqa\n")
    result = _lint(copy)
    assert result.returncode != 0
    assert "bots.telegram.render -> bridge.relay.router" in result.stdout


@pytest.mark.parametrize("module", ["bridge.app", "bridge.cli", "bots.telegram", "bots.matrix"])
def test_importing_it_loads_no_platform_library(module: str) -> None:
    loaded = subprocess.run(
        [sys.executable, "-c",
         f"import sys, {module}; print(' '.join(m for m in ('telegram', 'nio', 'sandbox') "
         "if m in sys.modules))"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert loaded == []


def test_no_module_is_over_400_lines_and_the_core_is_in_subpackages() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for package in ("bridge", "bots", "translation")
        for path in (ROOT / package).rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 400
    ]
    assert long == []
    loose = {p.name for p in (ROOT / "bridge").glob("*.py")} - COMPOSITION_ROOT
    assert loose == set()
    for package in (
        p for p in (ROOT / "bridge").iterdir() if p.is_dir() and p.name != "__pycache__"
    ):
        init = package / "__init__.py"
        assert init.exists(), package
        assert len(init.read_text().strip()) > 200, f"{init}: say what the package does"
