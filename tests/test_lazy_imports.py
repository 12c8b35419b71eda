"""The bridge loads its rarely used heavy libraries only when a feature needs them (issue 23's
memory goal, measured by bench/footprint.py): importing the composition root and the
adapters loads no image or audio/video library, no PDF reader, no language-detection
models' library and no third-party translation client. A module-level import added back
anywhere on those paths fails here, before it silently costs every small server its MiB."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAZY = ("PIL", "mutagen", "pypdf", "lingua", "deep_translator")
ENTRY_POINTS = [
    "bridge.app",
    "bridge.cli",
    "bots.telegram.bot",
    "bots.matrix.bot",
    "bridge.relay.translate",
    "bridge.model.media",
    "translation.detect",
]


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {LAZY!r} if m in sys.modules))"
    return subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True, text=True, check=True, timeout=120, cwd=ROOT,
    ).stdout.split()  # fmt: skip


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_importing_it_loads_no_rarely_used_heavy_library(module: str) -> None:
    assert _loaded_after(f"import {module}") == []


def test_a_room_language_line_is_detected_without_loading_the_models_library() -> None:
    """Most lines in most rooms are in the room's language, and their function words say so:
    those never load lingua (about 10 MiB once its models are in)."""
    code = (
        "from translation.detect import Detector\n"
        "d = Detector({'es', 'de', 'en'})\n"
        "assert d.detect('Asamblea de inquilinas el jueves a las 19h en la plaza', 'es') == 'es'\n"
        "assert d.detect('Wir brauchen mehr Leute an der Tür, bitte kommt alle', 'de') == 'de'"
    )
    assert _loaded_after(code) == []


def test_a_line_in_another_language_still_loads_the_models_and_is_found() -> None:
    code = (
        "from translation.detect import Detector\n"
        "d = Detector({'es', 'de', 'en'})\n"
        "assert d.detect('Die Heizung ist seit drei Tagen kaputt, im ganzen Vorderhaus', 'es')"
        " == 'de'"
    )
    assert _loaded_after(code) == ["lingua"]
