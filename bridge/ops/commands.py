"""The click commands ``translocal status``, ``translocal deadletters`` and ``translocal
glossary``.

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

    @click.group()
    def glossary() -> None:
        """A circle's translation memory and glossary, out to a file and back (TMX or YAML)."""

    @glossary.command("export")
    @config_option
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--circle", required=True, help="The circle whose corrections and terms.")
    @guarded
    def glossary_export(config_path: Path, file: Path, circle: str) -> None:
        """Write the circle's corrections and terms to FILE (.tmx: TMX 1.4; else YAML)."""
        from bridge.ops.glossary import export

        click.echo(asyncio.run(export(load(config_path).config, circle, file)))

    @glossary.command("import")
    @config_option
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("--circle", required=True, help="The circle that learns them.")
    @guarded
    def glossary_import(config_path: Path, file: Path, circle: str) -> None:
        """Teach the circle the corrections and terms in FILE: all of them, or none."""
        from bridge.ops.glossary import import_file

        click.echo(asyncio.run(import_file(load(config_path).config, circle, file)))

    return [status, deadletters, glossary]
