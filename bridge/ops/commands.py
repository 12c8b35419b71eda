"""The click commands ``translocal status`` and ``translocal deadletters``.

They are made here with the CLI's own ``-c`` option, error guard and config loader, handed
in by ``bridge.cli`` (which imports this module, never the reverse), so that the CLI module
holds one registration line for them. Neither needs a bot's secret: the loader given is the
one that does not ask for them. Exit codes stay the CLI's: 0, 2 for a refused dead-letter id,
3 for a config error, 4 when Redis cannot be reached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bridge.config.load import LoadedConfig

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def ops_commands(
    config_option: Decorator, guarded: Decorator, load: Callable[[Path], LoadedConfig]
) -> list[click.Command]:
    @click.command()
    @config_option
    @guarded
    def status(config_path: Path) -> None:
        """Rooms, bots and call-outs at a glance (times and counts; no text, no user ids)."""
        from bridge.ops.status import shell

        for line in asyncio.run(shell(load(config_path).config, time.time())):
            click.echo(line)

    @click.command()
    @config_option
    @click.argument("action", type=click.Choice(["list", "retry", "drop"]))
    @click.argument("dead_id", metavar="[ID]", required=False)
    @guarded
    def deadletters(config_path: Path, action: str, dead_id: str | None) -> None:
        """Deliveries that failed for good: list, retry ID (back to its outbox, once), drop ID."""
        from bridge.ops.deadletters import shell

        config = load(config_path).config
        for line in asyncio.run(shell(config, action, dead_id, time.time())):
            click.echo(line)

    return [status, deadletters]
