"""Help and the platforms' command menus list the commands in one order, whatever module an
import loaded first."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

SHOW = (
    "import bridge.commands.forget, bridge.commands.fixes\n"  # registered before threads
    "from bridge.commands.registry import listed, load_handlers\n"
    "load_handlers()\n"
    "print(' '.join(spec.name for spec in listed()))\n"
)


def test_help_lists_commands_by_handler_module_not_by_import_order() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SHOW], capture_output=True, text=True, cwd=ROOT, check=True
    )
    names = done.stdout.split()
    assert names[:2] == ["share", "unshare"], names
    assert names.index("help") < names.index("forgetme") < names.index("fix")
