"""Provider settings: `google` now means Cloud Translation with a key (an old config naming
it without one is told to use `google_web` or add a key); formality and region where they
apply; each problem one line, key path first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridge.config.load import ConfigFileError
from tests.harness import memory_config


def providers(tmp_path: Path, redis_url: str, *entries: dict[str, Any]) -> Any:
    return memory_config(tmp_path, redis_url, translation={"providers": list(entries)})


def problems(tmp_path: Path, redis_url: str, *entries: dict[str, Any]) -> str:
    with pytest.raises(ConfigFileError) as caught:
        providers(tmp_path, redis_url, *entries)
    return str(caught.value)


def test_an_old_google_without_a_key_is_told_to_use_google_web_or_add_one(
    tmp_path: Path, redis_url: str
) -> None:
    said = problems(tmp_path, redis_url, {"name": "google"})
    assert "translation.providers[0]" in said
    assert "google_web" in said
    assert "api_key" in said


def test_google_web_and_keyed_providers_load_with_their_settings(
    tmp_path: Path, redis_url: str
) -> None:
    cfg = providers(
        tmp_path, redis_url,
        {"name": "google_web"},
        {"name": "google", "api_key": "k"},
        {"name": "deepl", "api_key": "k:fx", "formality": "more"},
        {"name": "microsoft", "api_key": "k", "region": "westeurope",
         "url": "http://127.0.0.1:9"},
    ).config  # fmt: skip
    names = [p.name for p in cfg.translation.providers]
    assert names == ["google_web", "google", "deepl", "microsoft"]
    assert cfg.translation.providers[2].formality == "more"


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"name": "deepl", "api_key": "k", "formality": "casual"}, "formality"),
        ({"name": "google", "api_key": "k", "formality": "less"}, "formality applies to deepl"),
        ({"name": "mymemory", "api_key": "k"}, "takes no api_key"),
        ({"name": "deepl", "api_key": "k", "url": "ftp://x"}, "is not http"),
    ],
)
def test_a_bad_provider_setting_is_one_named_line(
    tmp_path: Path, redis_url: str, entry: dict[str, Any], words: str
) -> None:
    said = problems(tmp_path, redis_url, entry)
    assert "translation.providers[0]" in said
    assert words in said
    assert "Traceback" not in said
