"""Telegram's special paths: anonymous admins, commands, the 48-hour rule, migration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.config.load import LoadedConfig
from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import ANA, BERLIN, BOT_A, CDMX, TOKEN_A, world_config, world_rooms
from tests.harness import eventually, running


@pytest.fixture(autouse=True)
def _ana_administers_cdmx(tg: BotApiServer) -> None:
    tg.add_member(CDMX, ANA, admin=True, announce=False)


def config(tmp_path: Path, redis_url: str, tg: BotApiServer, **extra: Any) -> LoadedConfig:
    """CDMX and NYC (both in Spanish), NYC the operator's room."""
    return world_config(tmp_path, redis_url, tg, only=("cdmx", "nyc"), nyc="es",
                        ops_room="nyc", **extra)  # fmt: skip


async def test_anonymous_admins_cross_as_their_group_and_commands_never_cross(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        tg.post(CDMX, ANA, "Aviso de la asamblea", anonymous_admin=True)
        tg.post(CDMX, ANA, "/share@cdmx_bridge_bot")
        tg.post(CDMX, ANA, "/help@some_other_bot")
        tg.post(CDMX, ANA, "/circle")
        tg.post(CDMX, ANA, "marca")
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
        await eventually(lambda: len(tg.messages(CDMX)) == 2)
        await net.bot("mem").delete("nyc", fresh)
        await eventually(lambda: len(tg.messages(CDMX)) == 1)  # deleted within 48 h
        tg.move_clock(advance=49 * 3600)
        await net.bot("mem").delete("nyc", old)
        # blanked in the room's language
        await eventually(lambda: tg.messages(CDMX)[0]["text"] == "[retirado]")
    assert len(tg.messages(CDMX)) == 1


async def test_a_group_that_becomes_a_supergroup_is_followed(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    old = -100200
    tg.create_chat(old, "Grupo viejo", type="group")
    tg.add_member(old, BOT_A, admin=True, announce=False)
    tg.add_member(old, ANA)
    rooms = [r for r in world_rooms(nyc="es") if r["id"] != "berlin"]
    rooms[0]["chat"] = old  # the CDMX room is the old group
    async with running(config(tmp_path, redis_url, tg, rooms=rooms)) as (_, net):
        tg.post(old, ANA, "antes")
        await eventually(lambda: any("antes" in m.text for m in net.seen_in("nyc")))
        new = tg.migrate(old, by=ANA)
        tg.post(new, ANA, "después")
        await eventually(lambda: any("después" in m.text for m in net.seen_in("nyc")))
        await net.bot("mem").post("nyc", "hacia el nuevo grupo")
        await eventually(
            lambda: any("hacia el nuevo" in (m["text"] or "") for m in tg.messages(new))
        )
    assert tg.world.chats[new].status(BOT_A) != "left"  # it never left its own group
    told = [m.text for m in net.seen_in("nyc") if "supergrupo" in m.text]
    assert told == [  # in the operator's room's language (Spanish here)
        f"El grupo de Telegram {old} pasó a ser el supergrupo {new}. Translocal lo sigue; "
        f"pon rooms[].chat a {new} en la configuración antes del próximo reinicio."
    ]


async def test_a_revoked_token_stops_that_bot_alone_and_the_operator_is_told(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    loaded = world_config(tmp_path, redis_url, tg, nyc="es", ops_room="nyc")
    async with running(loaded) as (_, net):
        del tg.world.bots[TOKEN_A]  # BotFather /revoke: the old token is refused from now on
        await eventually(lambda: any("se paró" in m.text for m in net.seen_in("nyc")))
        await net.bot("mem").post("nyc", "sigue funcionando")
        await eventually(lambda: any("sigue" in (m["text"] or "") for m in tg.messages(BERLIN)))
    notice = next(m.text for m in net.seen_in("nyc") if "se paró" in m.text)
    assert notice.startswith("El bot de Telegram tg-a se paró: Telegram rechazó su token")
    assert TOKEN_A.split(":")[1] not in notice


async def test_after_the_move_to_a_supergroup_an_old_copy_is_never_taken_for_a_new_message(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    old = -100300
    tg.create_chat(old, "Grupo viejo", type="group")
    tg.add_member(old, BOT_A, admin=True, announce=False)
    tg.add_member(old, ANA)
    rooms = [r for r in world_rooms(nyc="es") if r["id"] != "berlin"]
    rooms[0]["chat"] = old
    async with running(config(tmp_path, redis_url, tg, rooms=rooms)) as (_, net):
        before = await net.bot("mem").post("nyc", "copia en el grupo viejo")
        await eventually(lambda: any("grupo viejo" in (m["text"] or "") for m in tg.messages(old)))
        new = tg.migrate(old, by=ANA)
        for i in range(4):  # the new chat's ids start again, under the old copy's
            tg.post(new, ANA, f"nuevo {i}")
        await eventually(lambda: len([m for m in net.seen_in("nyc") if "nuevo" in m.text]) == 4)
        # the NYC author deletes their message: its old copy cannot be touched any more, and
        # no message of the new chat that shares its number is deleted in its place
        await net.bot("mem").delete("nyc", before)
        await net.bot("mem").post("nyc", "marca")
        await eventually(lambda: any("marca" in (m["text"] or "") for m in tg.messages(new)))
    assert [m["text"] for m in tg.messages(new) if "nuevo" in (m["text"] or "")] == [
        f"nuevo {i}" for i in range(4)
    ]
