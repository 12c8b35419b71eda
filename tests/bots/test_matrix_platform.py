"""What the Matrix adapter declares when it registers, and that declaring it stays light:
importing ``bots.matrix`` loads neither matrix-nio nor the bot (no server here)."""

from __future__ import annotations

import subprocess
import sys

from bots.matrix import PLATFORM, MatrixSettings
from tests.helpers import ROOT


def test_importing_the_matrix_package_loads_neither_matrix_nio_nor_the_bot() -> None:
    code = (
        "import sys, bots.matrix\n"
        "heavy = ('nio', 'bots.matrix.bot', 'bots.matrix.check', 'bots.matrix.session')\n"
        "print(sorted(m for m in sys.modules if m in heavy or m.startswith('nio.')))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "[]"


def test_moderators_and_organizers_are_matrix_user_ids() -> None:
    assert PLATFORM.person("matrix:@ana:example.org") is None
    assert PLATFORM.person("matrix:ana") == (
        "'matrix:ana': a Matrix user id looks like @name:server"
    )
    assert PLATFORM.person("matrix:@ana") is not None
    assert PLATFORM.person_hint == "<mxid>"


def test_commands_start_with_a_bang_or_a_slash_and_help_shows_the_bang() -> None:
    assert PLATFORM.command_prefixes == ("!", "/")
    assert PLATFORM.command_prefix == "!"


def test_call_out_texts_are_counted_in_utf8_bytes() -> None:
    limit = PLATFORM.text_limit
    assert (limit.size, limit.unit) == (60000, "bytes")
    assert limit.measure("Solidaridad") == 11
    assert limit.measure("Mañana 🕊") == 12  # ñ takes two bytes, the dove four


def test_files_up_to_20_mb_and_nio_kept_out_of_the_logs() -> None:
    assert PLATFORM.max_file == 20 * 1024 * 1024
    assert "nio" in PLATFORM.quiet_loggers
    assert "peewee" in PLATFORM.quiet_loggers
    assert PLATFORM.silent_loggers == ("nio",)


def test_the_bot_posts_as_its_own_user_id() -> None:
    settings = MatrixSettings.model_validate(
        {"id": "mx", "platform": "matrix", "homeserver": "https://m.example.org/",
         "user_id": "@bridge:example.org", "password": "a-real-password-1"}
    )  # fmt: skip
    assert PLATFORM.identity(settings) == "matrix:@bridge:example.org"
    assert settings.homeserver == "https://m.example.org"
