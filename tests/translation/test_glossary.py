"""The glossary file: a broken one is a config error naming its line; the example loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config.load import load_config
from bridge.model.errors import ConfigError
from tests.helpers import write_config
from translation.glossary import load_glossary


def test_a_broken_glossary_is_a_config_error_naming_the_line(tmp_path: Path) -> None:
    glossary = tmp_path / "glossary.yaml"
    glossary.write_text("keep: [Blackstone]\nterms:\n  eviction:\n    xx: desahucio\n")
    cfg: dict[str, object] = {
        "bots": [{"id": "a", "platform": "memory"}],
        "rooms": [{"id": "r", "bot": "a", "chat": "c", "language": "es", "label": "R"}],
        "translation": {"glossary": str(glossary)},
    }
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path / "c.yaml", cfg), env={})
    (problem,) = info.value.problems
    assert str(problem).startswith(f"translation.glossary: {glossary} line 3: ")
    assert "'xx' is not an ISO 639-1 code" in str(problem)


def test_the_example_glossary_loads() -> None:
    glossary = load_glossary(
        Path(__file__).resolve().parents[2] / "bridge" / "examples" / "glossary.example.yaml"
    )
    assert "Blackstone" in glossary.keep
    assert glossary.terms["eviction"]["de"] == "Zwangsräumung"
