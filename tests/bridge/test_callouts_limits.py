"""A call-out's text is counted as each target room's platform counts it, by the limit its
adapter declares: Telegram in UTF-16 units, Matrix in bytes. Too long a text is refused with
one line naming the count, the unit and the platform, and nothing is made."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.callouts.model import CalloutRefused, Request, new_callout
from bridge.config.load import load_config
from bridge.config.models import Config
from tests.helpers import write_config

TOKEN = "5000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
NOW = datetime(2030, 5, 1, 10, tzinfo=UTC)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    cfg: dict[str, object] = {
        "data_dir": str(tmp_path / "data"),
        "bots": [
            {"id": "tg", "platform": "telegram", "token": "${TOKEN}"},
            {"id": "mx", "platform": "matrix", "homeserver": "https://matrix.example.org",
             "user_id": "@bridge:example.org", "access_token": "${MX_TOKEN}"},
        ],
        "rooms": [
            {"id": "cdmx", "bot": "tg", "chat": "-1001000000001", "language": "es",
             "label": "CDMX", "timezone": "America/Mexico_City"},
            {"id": "berlin", "bot": "mx", "chat": "!berlin:example.org", "language": "de",
             "label": "Berlin", "timezone": "Europe/Berlin"},
        ],
    }  # fmt: skip
    path = write_config(tmp_path / "limits.yaml", cfg)
    return load_config(path, env={"TOKEN": TOKEN, "MX_TOKEN": "syt_secret"}).config


def make(config: Config, room: str, text: str) -> str:
    """The call-out's id, or the one-line reason it was refused."""
    request = Request(rooms=(room,), at="2030-05-02 18:00", language="en", text=text)
    try:
        made = new_callout(request, config, NOW, callout_id="c1", source="cli", author="cli")
    except CalloutRefused as refused:
        return str(refused)
    return made.id


def test_a_telegram_room_counts_utf16_units(config: Config) -> None:
    assert make(config, "cdmx", "\N{SLIGHTLY SMILING FACE}" * 2000) == "c1"  # 4000 units
    assert make(config, "cdmx", "\N{SLIGHTLY SMILING FACE}" * 2001) == (
        "the text is 4002 UTF-16 units long; telegram rooms take at most 4000"
    )


def test_a_matrix_room_counts_bytes(config: Config) -> None:
    assert make(config, "berlin", "x" * 4001) == "c1"  # more than Telegram takes
    assert make(config, "berlin", "\N{LATIN SMALL LETTER U WITH DIAERESIS}" * 30001) == (
        "the text is 60002 bytes long; matrix rooms take at most 60000"
    )
