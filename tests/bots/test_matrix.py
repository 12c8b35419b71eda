"""The Matrix adapter end to end: matrix-nio against a real Synapse, members on nio clients,
and a Telegram group through the sandbox Bot API server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.config.load import LoadedConfig, load_config
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.harness import eventually, running
from tests.helpers import NO_LIMITS, sandbox_bot, write_config
from tests.synapse_fixture import PASSWORD, Member, create_room, joined, member, texts, unique

TOKEN = "5000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
CDMX, JUAN = -1001000000001, 2001


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with BotApiServer(limits=False) as server:
        server.add_bot(TOKEN, "cdmx_bridge_bot")
        server.add_user(JUAN, "Juan")
        server.create_chat(CDMX, "Inquilinas CDMX")
        server.add_member(CDMX, 5000001, admin=True)
        server.add_member(CDMX, JUAN)
        yield server


async def bot_user(synapse: SynapseServer) -> str:
    return await synapse.register(unique("bridge"), PASSWORD, displayname="Translocal")


def matrix_bot(synapse: SynapseServer, user_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": "mx", "platform": "matrix", "homeserver": synapse.url, "user_id": user_id,
            "password": PASSWORD, "sync_timeout_ms": 1000, **extra}  # fmt: skip


def config(tmp_path: Path, redis_url: str, bots: list[Any], rooms: list[Any],
           **extra: Any) -> LoadedConfig:  # fmt: skip
    cfg: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url, "shards": 4},
        "bots": bots,
        "rooms": rooms,
        "circles": [{"id": "net", "rooms": [r["id"] for r in rooms], "relay": "all"}],
        "limits": NO_LIMITS,
    }
    cfg.update(extra)
    return load_config(write_config(tmp_path / "mx.yaml", cfg), env={})


def from_bot(events: list[dict[str, Any]], bot: str) -> list[dict[str, Any]]:
    """The copies the bot posted (not its notices)."""
    return [c for c in texts(events, sender=bot) if c.get("msgtype") != "m.notice"]


def tg_copies(tg: BotApiServer, chat: int) -> list[dict[str, Any]]:
    """What the Telegram bot posted, less its welcome (in English or Spanish)."""
    welcome = ("Translocal links", "Translocal conecta")
    return [m for m in tg.messages(chat) if not (m["text"] or "").startswith(welcome)]


async def test_a_message_crosses_to_matrix_and_telegram_and_replies_edits_and_redactions_follow(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str,
    synapse: SynapseServer, tg: BotApiServer,
) -> None:  # fmt: skip
    bot = await bot_user(synapse)
    alias = unique("wien")
    async with member(synapse, "ana", display="Ana") as ana, \
               member(synapse, "ben", display="Ben") as ben:  # fmt: skip
        berlin = await create_room(ana, invite=(bot,))
        wien = await create_room(ben, invite=(bot,), alias=alias)
        rooms = [
            {"id": "berlin", "bot": "mx", "chat": berlin, "language": "es", "label": "Berlin"},
            {"id": "wien", "bot": "mx", "chat": f"#{alias}:localhost", "language": "es",
             "label": "Wien"},
            {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX"},
        ]  # fmt: skip
        bots = [matrix_bot(synapse, bot), sandbox_bot("tg", TOKEN, tg.url, limits_scale=0.01)]
        async with running(config(tmp_path, redis_url, bots, rooms)):
            await joined(ana, berlin, bot)
            await joined(ben, wien, bot)
            original = await ana.say(berlin, "Bloqueo mañana a las 7")
            events = await ben.wait_for(wien, lambda ev: len(from_bot(ev, bot)) == 1)
            copy = from_bot(events, bot)[0]
            assert copy["body"] == "Ana (Berlin)\nBloqueo mañana a las 7"
            assert copy["msgtype"] == "m.text"
            assert "<b>Ana (Berlin)</b>" in copy["formatted_body"]
            copy_id = next(e["event_id"] for e in events if e.get("content") is copy)
            await eventually(lambda: len(tg_copies(tg, CDMX)) == 1)
            tg_copy = tg_copies(tg, CDMX)[0]
            assert tg_copy["text"] == "Ana (Berlin)\nBloqueo mañana a las 7"

            # Juan answers in Telegram: in Berlin it is a Matrix reply to Ana's message
            answer = tg.post(CDMX, JUAN, "Ahí estaremos", reply_to=tg_copy["message_id"])
            events = await ana.wait_for(berlin, lambda ev: len(from_bot(ev, bot)) == 1)
            reply = from_bot(events, bot)[0]
            assert reply["body"] == "Juan (CDMX)\nAhí estaremos"
            assert reply["m.relates_to"]["m.in_reply_to"]["event_id"] == original

            # Ana fixes the time: the copies are edited
            await ana.edit(berlin, original, "Bloqueo mañana a las 8")
            await ben.wait_for(wien, lambda ev: any(_edit_of(e, copy_id) for e in ev))
            edit = next(e for e in ben.events[wien] if _edit_of(e, copy_id))
            assert (
                edit["content"]["m.new_content"]["body"] == "Ana (Berlin)\nBloqueo mañana a las 8"
            )
            assert edit["sender"] == bot
            await eventually(lambda: "a las 8" in tg_copies(tg, CDMX)[0]["text"])

            # and an edit in Telegram edits the copy in Berlin
            tg.edit(CDMX, answer["message_id"], "Ahí estaremos todas")
            reply_id = next(e["event_id"] for e in ana.events[berlin] if e.get("content") is reply)
            await ana.wait_for(berlin, lambda ev: any(_edit_of(e, reply_id) for e in ev))

            # Ana redacts her message: every copy goes
            await ana.redact(berlin, original)
            await ben.wait_for(wien, lambda ev: any(_redacts(e) == copy_id for e in ev))
            await eventually(lambda: "Bloqueo" not in str(tg.messages(CDMX)))


def _edit_of(event: dict[str, Any], event_id: str) -> bool:
    relation = (event.get("content") or {}).get("m.relates_to") or {}
    return relation.get("rel_type") == "m.replace" and relation.get("event_id") == event_id


def _redacts(event: dict[str, Any]) -> str | None:
    """The event a redaction removes (None for other events)."""
    if event.get("type") != "m.room.redaction":
        return None
    return str(event.get("redacts") or (event.get("content") or {}).get("redacts"))


__all__ = ["Member"]
