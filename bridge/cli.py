"""The ``translocal`` command. The only place that decides exit codes.

0 ok; 1 runtime failure; 2 usage error (click); 3 config error; 4 a service unreachable or
credentials refused at start-up (or, for ``check``, a room that is not ready).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from bridge.app import ROLES, App
from bridge.config.load import ConfigFileError, LoadedConfig, load_config
from bridge.infra.logs import setup_logging
from bridge.model.errors import ConfigError, ConfigProblem, TranslocalError
from bridge.model.redaction import add_secrets
from bridge.ops.commands import ops_commands
from bridge.ops.rooms import rooms_command
from bridge.setup.command import init_command

log = logging.getLogger("translocal")

F = TypeVar("F", bound=Callable[..., Any])

DEMO_CONFIG = Path(__file__).resolve().parent / "examples" / "demo.yaml"  # package data

DEFAULT_CONFIG = Path("translocal.yaml")
CONFIG_ENV = "TRANSLOCAL_CONFIG"
LOG_LEVELS = click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False)
LOG_LEVEL_HELP = "How much to log: INFO for run, WARNING for the others. No message bodies at INFO."


def _config_path(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path:
    """``-c`` after the subcommand, else ``-c`` before it, else $TRANSLOCAL_CONFIG, else
    ./translocal.yaml; where it came from is kept for the message when the file is absent."""
    root = ctx.find_root().obj or {}
    source = "option"
    if value is None:
        value = root.get("config_path")
    if value is None and os.environ.get(CONFIG_ENV):
        value, source = Path(os.environ[CONFIG_ENV]), "environment"
    if value is None:
        value, source = DEFAULT_CONFIG, "default"
    ctx.meta["translocal.config_source"] = source
    return value


def _log_level(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """``--log-level`` given after the subcommand: it wins over one given before."""
    if value is not None:
        obj = ctx.find_root().obj
        if obj is not None:
            obj["log_level"] = value.upper()
        setup_logging("text", value.upper())


log_level_option = click.option(
    "--log-level", type=LOG_LEVELS, default=None, expose_value=False, callback=_log_level,
    help=LOG_LEVEL_HELP,
)  # fmt: skip
_CONFIG = ("-c", "--config", "config_path")
_CONFIG_KW: dict[str, Any] = {
    "default": None,
    "type": click.Path(dir_okay=False, path_type=Path),
    "help": f"The YAML configuration file [default: ${CONFIG_ENV}, else ./{DEFAULT_CONFIG}].",
}
_config = click.option(*_CONFIG, callback=_config_path, **_CONFIG_KW)


def config_option(fn: F) -> F:
    """``-c/--config`` (giving the command a ``config_path: Path``) and ``--log-level``, both
    accepted before or after the subcommand. Use it on every command that reads the config,
    then load with ``_load`` (bots start) or ``_load_nobots`` (they do not)."""
    return _config(log_level_option(fn))


def _guarded(fn: F) -> F:
    """Turn translocal's errors into their exit codes and one-line messages, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConfigError as exc:
            lines = exc.lines() if isinstance(exc, ConfigFileError) else exc.problems
            for line in lines:
                click.echo(str(line), err=True)
            sys.exit(exc.exit_code)
        except TranslocalError as exc:
            click.echo(f"translocal: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _load(path: Path, *, log_warnings: bool = True, need_secrets: bool = True) -> LoadedConfig:
    """Load the config for a command (ConfigError: exit 3, one line per problem)."""
    context = click.get_current_context(silent=True)
    source = context.meta.get("translocal.config_source") if context else None
    if source in ("default", "environment") and not path.exists():
        where = (f"the default, in {Path.cwd()}" if source == "default"
                 else f"from ${CONFIG_ENV}")  # fmt: skip
        hint = f"no such file ({where}); give -c FILE or set {CONFIG_ENV}=FILE"
        raise ConfigFileError([ConfigProblem("(file)", hint)], path)
    loaded = load_config(path, need_secrets=need_secrets)
    add_secrets(loaded.config.secrets())
    if log_warnings:
        for warning in loaded.warnings:
            log.warning("%s", warning)
    return loaded


def _load_nobots(path: Path) -> LoadedConfig:
    """Load the config for a command that starts no bot (callouts, audit, status,
    deadletters, rooms): a bot's token or password variable may be unset there."""
    return _load(path, need_secrets=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="translocal")
@click.option("--log-level", type=LOG_LEVELS, default=None, help=LOG_LEVEL_HELP)
@click.option(*_CONFIG, **_CONFIG_KW)
@click.pass_context
def cli(ctx: click.Context, log_level: str | None, config_path: Path | None) -> None:
    """Translocal links movement group chats across cities and languages.

    -c and --log-level work before or after the command."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    run = ctx.invoked_subcommand == "run"
    ctx.obj["log_level"] = (log_level or ("INFO" if run else "WARNING")).upper()
    setup_logging("text", ctx.obj["log_level"])


@cli.command()
@config_option
@click.option("--role", type=click.Choice(ROLES), default="all", show_default=True)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Serve Prometheus /metrics and /healthz on this port.",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Where /metrics and /healthz listen (0.0.0.0 in a container).",
)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--clock-speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Run the call-out clock this many times faster (demos and tests).",
)
@click.option(
    "--lease-ms",
    type=click.IntRange(200, 600_000),
    default=10_000,
    hidden=True,
    help="How long a dead process keeps its shards and outboxes before another takes them.",
)
@click.pass_context
@_guarded
def run(
    ctx: click.Context,
    config_path: Path,
    role: str,
    metrics_port: int | None,
    metrics_host: str,
    log_format: str,
    clock_speed: float,
    lease_ms: int,
) -> None:
    """Run the bridge (all parts, or one role of it) until SIGINT or SIGTERM."""
    setup_logging(log_format, ctx.obj["log_level"])
    loaded = _load(config_path)
    metrics = (metrics_host, metrics_port) if metrics_port is not None else None
    app = App(loaded, role=role, clock_speed=clock_speed, lease_ms=lease_ms, metrics=metrics)
    asyncio.run(_run_until_signal(app))


async def _run_until_signal(app: App) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.run(stop)


@cli.command()
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the rows as a JSON list.")
@_guarded
def check(config_path: Path, as_json: bool) -> None:
    """Validate the config, then report what is ready, part by part and room by room."""
    from bridge.check import run_check

    loaded = _load(config_path, log_warnings=False)  # the table shows them
    sys.exit(asyncio.run(run_check(loaded, as_json=as_json)))


@cli.command()
@click.option("--keep-running", is_flag=True, help="Leave the network up after the scene.")
@log_level_option
@_guarded
def demo(keep_running: bool) -> None:
    """The whole network on one machine: three cities, a scripted scene, what each room saw."""
    from sandbox.demo import main_demo

    loaded = _load(DEMO_CONFIG)  # a broken demo config is a config error, as anywhere
    click.echo(f"The demo network ({DEMO_CONFIG.name}):")
    for room in loaded.config.rooms:
        bot = loaded.config.bot(room.bot)
        click.echo(f"  {room.label:<7} {bot.platform:<9} {room.language}  {room.timezone}")
    sys.exit(main_demo(click.echo, keep_running))


@cli.group()
def callouts() -> None:
    """Scheduled call-outs: list, add, cancel, preview."""


@callouts.command("list")
@config_option
@_guarded
def callouts_list(config_path: Path) -> None:
    """List the call-outs, with the last report of each."""
    from bridge.callouts import shell

    for line in asyncio.run(shell.listing(_load_nobots(config_path).config)):
        click.echo(line)


@callouts.command("add")
@config_option
@click.option("--circle", "circles", multiple=True, help="A circle it goes to (repeatable).")
@click.option("--room", "rooms", multiple=True, help="A room it goes to (repeatable).")
@click.option("--at", help='One time, "YYYY-MM-DD HH:MM".')
@click.option("--cron", help='A crontab schedule, "m h dom mon dow".')
@click.option("--mode", type=click.Choice(["local", "instant"]), default="local", show_default=True)
@click.option("--tz", default="UTC", show_default=True, help="The zone of --at/--cron (instant).")
@click.option("--language", required=True, help="ISO 639-1 code of the text's language.")
@click.option("--text", required=True)
@click.option("--report-to", default=None, help="A room that gets the delivery reports.")
@click.option("--rsvp", is_flag=True, help="Members answer ✊/🤔 or rsvp; the report counts.")
@_guarded
def callouts_add(config_path: Path, **fields: Any) -> None:
    """Add a call-out; prints its short id."""
    from bridge.callouts import shell

    click.echo(asyncio.run(shell.add(_load_nobots(config_path).config, fields)))


@callouts.command("cancel")
@config_option
@click.argument("callout_id")
@_guarded
def callouts_cancel(config_path: Path, callout_id: str) -> None:
    """Cancel a call-out from chat or the CLI. One from the config file is refused (exit 2):
    delete its entry under callouts: in the file and restart `translocal run`."""
    from bridge.callouts import shell

    loaded = _load_nobots(config_path)
    asyncio.run(shell.cancel(loaded.config, callout_id, loaded.path))
    click.echo(f"cancelled {callout_id}")


@callouts.command("preview")
@config_option
@click.argument("callout_id")
@_guarded
def callouts_preview(config_path: Path, callout_id: str) -> None:
    """Show, room by room, the text each room will get and when (local time and UTC)."""
    from bridge.callouts import shell

    for line in asyncio.run(shell.preview(_load_nobots(config_path).config, callout_id)):
        click.echo(line)


@cli.command()
@config_option
@click.option("--to", "target", required=True, help="ISO 639-1 code of the target language.")
@click.argument("text")
@_guarded
def translate(config_path: Path, target: str, text: str) -> None:
    """Try the translation chain and the glossary on TEXT (no cache: every provider is asked)."""
    from bridge.relay.translate import build_translator
    from translation.languages import check_language

    loaded = _load(config_path)
    try:
        target = check_language(target)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--to") from None
    cfg = loaded.config
    source = cfg.rooms[0].language if cfg.rooms else "en"
    sys.exit(asyncio.run(_translate(build_translator(cfg, None), text, source, target)))


async def _translate(translator: Any, text: str, source: str, target: str) -> int:
    try:
        result = (await translator.translate(text, source, {target}))[target]
    finally:
        await translator.close()
    names = ", ".join(p.name for p in translator.providers) or "none configured"
    click.echo(f"providers: {names}")
    click.echo(f"source: {result.source} (detected, or the first room's language)")
    if result.status == "translated":
        click.echo(f"by {result.provider}: {result.text}")
        return 0
    if result.status == "original":
        click.echo(f"already in {target}: {result.text}")
        return 0
    click.echo(f"not translated: every provider failed or none is configured: {result.text}")
    return 1


@cli.command()
@config_option
@click.option("--since", default="7d", show_default=True, help="1h, 7d or YYYY-MM-DD")
@_guarded
def audit(config_path: Path, since: str) -> None:
    """The moderation audit trail: every action and every refused attempt (ids, no text)."""
    from bridge.infra.connection import open_redis
    from bridge.moderation.audit import Audit, parse_since

    try:
        start = parse_since(since, time.time())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    loaded = _load_nobots(config_path)
    cfg = loaded.config

    async def read() -> list[Any]:
        handle = await open_redis(cfg.redis, cfg.data_dir)
        try:
            return await Audit(handle.client, cfg.retention.audit_days).read(start)
        finally:
            await handle.close()

    entries = asyncio.run(read())
    if not entries:
        click.echo(f"no audit entries since {since}")
        return
    for e in entries:
        when = datetime.fromtimestamp(e.at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        message = f" message {e.message}" if e.message else ""
        detail = f" ({e.detail})" if e.detail else ""
        click.echo(f"{when}Z  {e.room:<12} {e.who:<28} {e.action:<8} {e.outcome}{message}{detail}")


@cli.command()
@config_option
@click.option("--yaml", "as_yaml", is_flag=True, help="Print a rooms: snippet to paste.")
@_guarded
def discover(config_path: Path, as_yaml: bool) -> None:
    """List the chats each bot sees now, with their ids (for set-up, before `run`)."""
    from bridge.discover import run_discover

    sys.exit(asyncio.run(run_discover(_load(config_path), as_yaml=as_yaml)))


cli.add_command(init_command)  # translocal init [DIR]: bridge/setup/
# status, deadletters, glossary: bridge/ops/
for _command in ops_commands(config_option, _guarded, _load_nobots):
    cli.add_command(_command)
cli.add_command(rooms_command(config_option, _guarded, _load_nobots))  # rooms list|unlink|export


def main() -> None:
    cli(prog_name="translocal")
