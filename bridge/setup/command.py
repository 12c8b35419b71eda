"""The ``translocal init [DIR]`` command: ask a few questions, or take them as flags.

In a terminal, each question not answered by a flag is asked, and a bad answer is asked
again with the reason. With ``--yes``, or when standard input is not a terminal (a script, a
container), nothing is asked: flags or the defaults are used, and a bad flag is one line on
standard error and exit 2, with nothing written. The files are described in ``files``.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from bridge.setup import answers as check
from bridge.setup.answers import DEFAULTS, LATER, Answers
from bridge.setup.files import SetupError, preflight, secrets, write


class _Asker:
    def __init__(self, flags: dict[str, Any], interactive: bool) -> None:
        self.flags = flags
        self.interactive = interactive

    def get(self, name: str, question: str, rule: Callable[[str], Any], default: str) -> Any:
        given = self.flags.get(name)
        if given is not None:
            try:
                return rule(given)
            except ValueError as exc:
                raise SetupError(f"--{name.replace('_', '-')}: {exc}") from None
        if not self.interactive:
            return rule(default)
        while True:
            raw = click.prompt(question, default=default)
            try:
                return rule(raw)
            except ValueError as exc:
                click.echo(f"  {exc}; please try again.")


def _ask(flags: dict[str, Any], interactive: bool) -> Answers:
    ask = _Asker(flags, interactive).get
    platforms = ask("platform", "Platform (telegram, matrix or both)", check.platforms,
                    DEFAULTS["platform"])  # fmt: skip
    label = ask("label", "City label (what other cities see)", check.label, DEFAULTS["label"])
    language = ask("language", "Language its members write (ISO 639-1, e.g. es)",
                   check.language, DEFAULTS["language"])  # fmt: skip
    timezone = ask("timezone", "Timezone (e.g. America/Mexico_City)", check.timezone,
                   DEFAULTS["timezone"])  # fmt: skip
    telegram_chat = matrix_room = LATER
    matrix_user = homeserver = ""
    if "telegram" in platforms:
        telegram_chat = ask("telegram_chat", 'Telegram chat id (-100..., or "later")',
                            lambda v: check.chat("telegram", v), LATER)  # fmt: skip
    if "matrix" in platforms:
        matrix_user = ask("matrix_user", "The bot's Matrix user id (@name:server)",
                          check.matrix_user, DEFAULTS["matrix_user"])  # fmt: skip
        homeserver = ask("homeserver", "Its homeserver URL", check.url,
                         check.homeserver_of(matrix_user))  # fmt: skip
        matrix_room = ask("matrix_room", 'Matrix room id or alias (!id:server, or "later")',
                          lambda v: check.chat("matrix", v), LATER)  # fmt: skip
    translation_url = ask("translation_url", "LibreTranslate URL", check.url,
                          DEFAULTS["translation_url"])  # fmt: skip
    data_dir = (
        ask("data_dir", "", check.folder, "./translocal-data")
        if flags.get("data_dir")
        else "./translocal-data"
    )  # not asked: a flag for systemd (/var/lib/translocal)
    return Answers(platforms, label, language, timezone, telegram_chat, matrix_room,
                   matrix_user, homeserver, translation_url, data_dir)  # fmt: skip


def _shown(path: Path) -> str:
    """A path as a shell reads it (``.`` needs a slash to read a file in this folder)."""
    text = str(path)
    return shlex.quote(text if "/" in text else f"./{text}")


@click.command("init")
@click.argument("folder", metavar="[DIR]", default=".", type=click.Path(path_type=Path))
@click.option("--platform", help="telegram, matrix or both (default telegram).")
@click.option("--label", help="The city's label, as other cities see it.")
@click.option("--language", help="ISO 639-1 code of the room's language (default en).")
@click.option("--timezone", help="IANA timezone of the city (default UTC).")
@click.option("--telegram-chat", help='The Telegram chat id, or "later" (the default).')
@click.option("--matrix-room", help='The Matrix room id or alias, or "later" (the default).')
@click.option("--matrix-user", help="The Matrix bot's user id, @name:server.")
@click.option("--homeserver", help="The Matrix homeserver URL (default: from the user id).")
@click.option("--translation-url", help="LibreTranslate's URL (default http://127.0.0.1:5000).")
@click.option("--data-dir", help="Where the bridge keeps its state (default ./translocal-data).")
@click.option("--yes", "-y", is_flag=True, help="Ask nothing: flags, or the defaults.")
@click.option("--force", is_flag=True, help="Overwrite translocal.yaml and translocal.env.")
def init_command(folder: Path, yes: bool, force: bool, **flags: Any) -> None:
    """Write DIR/translocal.yaml and DIR/translocal.env (secret names only, mode 0600)."""
    try:
        preflight(folder, force=force)  # before any question: nothing asked in vain
        found = _ask(flags, interactive=not yes and sys.stdin.isatty())
        config, env = write(folder, found, force=force)
    except SetupError as exc:
        click.echo(f"translocal init: {exc}", err=True)
        raise click.exceptions.Exit(SetupError.exit_code) from None
    click.echo(f"Wrote {config} (no secrets in it) and {env} (mode 0600).")
    click.echo(f"Next: fill in {', '.join(name for name, _ in secrets(found))} in {env}")
    later = [p for p, chat in (("Telegram", found.telegram_chat), ("Matrix", found.matrix_room))
             if p.lower() in found.platforms and chat == LATER]  # fmt: skip
    if later:
        click.echo(f"and the {' and '.join(later)} chat id in {config} (see docs/install.md),")
    click.echo("then check it:")
    click.echo(f"    set -a; . {_shown(env)}; set +a")
    click.echo(f"    translocal check -c {_shown(config)}")
