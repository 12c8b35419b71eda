"""Telegram's special paths: anonymous admins, commands, the 48-hour rule, migration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.config.load import load_config
from sandbox.telegram import BotApiServer
from tests.harness import eventually, running
from tests.helpers import sandbox_bot, write_config

TOKEN = "5000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
GROUP = -1001000000001
ANA = 2001


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with BotApiServer(limits=False) as server:
        server.add_bot(TOKEN, "cdmx_bridge_bot")
        server.add_user(ANA, "Ana")
        server.create_chat(GROUP, "Inquilinas CDMX")
        server.add_member(GROUP, 5000001, admin=True, announce=False)
        server.add_member(GROUP, ANA, admin=True)
        yield server


def config(
    tmp_path: Path, redis_url: str, tg: BotApiServer, chat: int = GROUP, **extra: Any
) -> Any:
    cfg: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "redis": {"url": redis_url, "shards": 4},
        "bots": [
            sandbox_bot("tg", "${T}", tg.url),
            {"id": "mem", "platform": "memory"},
        ],
        "rooms": [
            {"id": "cdmx", "bot": "tg", "chat": chat, "language": "es", "label": "CDMX"},
            {"id": "nyc", "bot": "mem", "chat": "nyc", "language": "es", "label": "NYC"},
        ],
        "circles": [{"id": "net", "rooms": ["cdmx", "nyc"], "relay": "all"}],
        "ops_room": "nyc",
    }
    cfg.update(extra)
    return load_config(write_config(tmp_path / "c.yaml", cfg), env={"T": TOKEN})


async def test_anonymous_admins_cross_as_their_group_and_commands_never_cross(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        tg.post(GROUP, ANA, "Aviso de la asamblea", anonymous_admin=True)
        tg.post(GROUP, ANA, "/share@cdmx_bridge_bot")
        tg.post(GROUP, ANA, "/help@some_other_bot")
        tg.post(GROUP, ANA, "/circle")
        tg.post(GROUP, ANA, "marca")
        await eventually(lambda: any("marca" in m.text for m in net.seen_in("nyc")))
    crossed = [m.text for m in net.seen_in("nyc")]
    assert crossed[0] == "Inquilinas CDMX (CDMX): Aviso de la asamblea"
    assert not any("/" in text for text in crossed)  # no command crossed
    assert len(crossed) == 2


async def test_a_copy_older_than_48_hours_is_blanked_instead_of_deleted(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        fresh = await net.bot("mem").post("nyc", "se puede borrar")
        old = await net.bot("mem").post("nyc", "demasiado viejo")
        await eventually(lambda: len(tg.messages(GROUP)) == 2)
        await net.bot("mem").delete("nyc", fresh)
        await eventually(lambda: len(tg.messages(GROUP)) == 1)  # deleted within 48 h
        tg.move_clock(advance=49 * 3600)
        await net.bot("mem").delete("nyc", old)
        await eventually(lambda: tg.messages(GROUP)[0]["text"] == "[retracted]")
    assert len(tg.messages(GROUP)) == 1


async def test_a_group_that_becomes_a_supergroup_is_followed(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    old = -100200
    tg.create_chat(old, "Grupo viejo", type="group")
    tg.add_member(old, 5000001, admin=True, announce=False)
    tg.add_member(old, ANA)
    async with running(config(tmp_path, redis_url, tg, chat=old)) as (_, net):
        tg.post(old, ANA, "antes")
        await eventually(lambda: any("antes" in m.text for m in net.seen_in("nyc")))
        new = tg.migrate(old, by=ANA)
        tg.post(new, ANA, "después")
        await eventually(lambda: any("después" in m.text for m in net.seen_in("nyc")))
        await net.bot("mem").post("nyc", "hacia el nuevo grupo")
        await eventually(
            lambda: any("hacia el nuevo" in (m["text"] or "") for m in tg.messages(new))
        )
    assert tg.world.chats[new].status(5000001) != "left"  # it never left its own group
    told = [m.text for m in net.seen_in("nyc") if "became supergroup" in m.text]
    assert told == [
        f"Telegram group {old} became supergroup {new}. Translocal follows it; "
        f"set rooms[].chat to {new} in the config before the next restart."
    ]


async def test_a_revoked_token_stops_that_bot_alone_and_the_operator_is_told(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    other_token, berlin = "5000002:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", -1001000000002
    tg.add_bot(other_token, "berlin_bridge_bot")
    tg.create_chat(berlin, "Berlin")
    tg.add_member(berlin, 5000002, admin=True, announce=False)
    bots = [
        sandbox_bot("tg", "${T}", tg.url),
        sandbox_bot("tg2", other_token, tg.url),
        {"id": "mem", "platform": "memory"},
    ]
    rooms = [
        {"id": "cdmx", "bot": "tg", "chat": GROUP, "language": "es", "label": "CDMX"},
        {"id": "berlin", "bot": "tg2", "chat": berlin, "language": "es", "label": "Berlin"},
        {"id": "nyc", "bot": "mem", "chat": "nyc", "language": "es", "label": "NYC"},
    ]
    circles = [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": "all"}]
    loaded = config(tmp_path, redis_url, tg, bots=bots, rooms=rooms, circles=circles)
    async with running(loaded) as (_, net):
        del tg.world.bots[TOKEN]  # BotFather /revoke: the old token is refused from now on
        await eventually(lambda: any("stopped" in m.text for m in net.seen_in("nyc")))
        await net.bot("mem").post("nyc", "sigue funcionando")
        await eventually(lambda: any("sigue" in (m["text"] or "") for m in tg.messages(berlin)))
    notice = next(m.text for m in net.seen_in("nyc") if "stopped" in m.text)
    assert notice.startswith("Telegram bot tg stopped: Telegram refused its token")
    assert TOKEN.split(":")[1] not in notice
