"""Call-outs from the shell: what ``translocal callouts list|add|cancel|preview`` does.

Each function opens the configured Redis (the embedded one is joined when translocal runs,
started for the moment otherwise), does its one thing, and returns what the command prints;
the click commands in ``bridge/cli.py`` only read options and print. Bad input raises
CalloutRefused with a one-line reason (the CLI exits 2) and nothing is stored. Call-outs
written in the config file are listed (with their next run) before a run loads them, and
``cancel`` refuses them, naming the file (exit 2): they are removed by editing it. "Now" is the
running scheduler's time, so that "already passed" means the same here as for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from bridge.callouts.clock import shared_now
from bridge.callouts.model import CalloutRefused, Request, from_config, new_callout
from bridge.callouts.store import CalloutStore, short_id
from bridge.callouts.text import preview as preview_lines
from bridge.callouts.text import summary
from bridge.config.models import Config
from bridge.infra.connection import open_redis
from bridge.model.errors import TranslocalError
from bridge.model.i18n import _, render
from bridge.relay.translate import build_translator


@contextlib.asynccontextmanager
async def _store(config: Config) -> AsyncIterator[CalloutStore]:
    handle = await open_redis(config.redis, config.data_dir)
    try:
        yield CalloutStore(handle.client)
    finally:
        await handle.close()


async def listing(config: Config) -> list[str]:
    """Each call-out with its last report, then the config's not loaded by a run yet."""
    async with _store(config) as store:
        now = await shared_now(store.redis)
        stored = await store.all()
        lines: list[str] = []
        for callout in stored.values():
            lines.append(render(summary(callout, config, now), "en"))
            for report in await store.reports(callout.id, 1):
                lines.append(f"  last report ({report['occurrence']}): landed in "
                             f"{report['landed']} of {report['rooms']} rooms")  # fmt: skip
                lines += [f"    {status}: {room}" + (f": {why}" if why else "")
                          for status, room, why in report["lines"]]  # fmt: skip
        for entry in config.callouts:  # not loaded by a run yet: their schedule all the same
            if entry.id not in stored:
                lines.append(
                    render(summary(from_config(entry, now.timestamp()), config, now), "en")
                )
                lines.append("  in the config file; loaded when `translocal run` starts")
    return lines


async def add(config: Config, fields: Mapping[str, Any]) -> str:
    """Add the call-out ``fields`` describes (the fields of a ``Request``); its short id."""
    request = Request.model_validate(fields)
    async with _store(config) as store:
        now = await shared_now(store.redis)
        for _attempt in range(4):
            callout = new_callout(request, config, now, callout_id=short_id(), source="cli",
                                  author="cli")  # fmt: skip
            if await store.add(callout):
                return callout.id
    raise CalloutRefused(_("no free id; try again"))


class InConfigFile(TranslocalError):
    """A call-out the shell cannot cancel: it is written in the config file, and a run would
    load it again. Exit 2, with the file and how to remove it (the shell speaks English)."""

    exit_code = 2


async def cancel(config: Config, callout_id: str, file: Path | None = None) -> None:
    """Cancel a call-out from chat or the shell; a config one is refused, naming the file."""
    index = next((i for i, c in enumerate(config.callouts) if c.id == callout_id), None)
    if index is not None:
        where = f"the config file {file}" if file is not None else "the config file"
        raise InConfigFile(
            f"{callout_id!r} comes from {where} (callouts[{index}]); delete that entry "
            "there and restart `translocal run` to stop it"
        )
    async with _store(config) as store:
        found = await store.get(callout_id)
        if found is None:
            raise CalloutRefused(_("there is no call-out {id}", id=repr(callout_id)))
        if found.source == "config":  # removed from the file since the run loaded it
            raise CalloutRefused(
                _("{id} comes from the config file; remove it there", id=repr(callout_id))
            )
        await store.remove(callout_id)


async def preview(config: Config, callout_id: str) -> list[str]:
    """Room by room, when it goes out and the text each room will get (translated now)."""
    async with _store(config) as store:
        now = await shared_now(store.redis)
        found = await store.get(callout_id)
        if found is None:  # a config call-out not loaded by a run yet
            entry = next((c for c in config.callouts if c.id == callout_id), None)
            found = from_config(entry, now.timestamp()) if entry is not None else None
        if found is None:
            raise CalloutRefused(_("there is no call-out {id}", id=repr(callout_id)))
        translator = build_translator(config, store.redis)
        try:
            lines = await preview_lines(translator, found, config, now)
            return [render(line, "en") for line in lines]
        finally:
            await translator.close()
