"""The linked rooms' core: laid over the config in place, the config file authoritative, a
broken record skipped, a code single-use, and a running bridge following without restart."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest
import redis.asyncio

from bridge.config.linked import LinkedRoom, generation, is_linked, merge, room_id_for
from bridge.infra.links import LinkStore, hint, load, normalize
from bridge.model import keys
from bridge.model.envelope import Envelope, Sender
from bridge.model.settings import RoomConfig
from tests.harness import eventually, memory_config, running


def porto(room_id: str = "porto", chat: str = "p1", circle: str = "net") -> LinkedRoom:
    room = RoomConfig(id=room_id, bot="a", chat=chat, language="pt", label="Porto",
                      timezone="Europe/Lisbon")  # fmt: skip
    return LinkedRoom(room=room, circle=circle, linked_by="memory:rita", linked_at=time.time())


def test_a_linked_room_joins_the_rooms_and_its_circle_in_place_and_leaves_them(
    tmp_path: Path,
) -> None:
    config = memory_config(tmp_path, "redis://127.0.0.1:1").config
    circle = config.circles[0]
    before = generation(config)
    assert merge(config, [porto()]) == []
    assert config.room("porto").language == "pt"
    assert "porto" in circle.rooms
    assert is_linked(config, "porto")
    assert generation(config) == before + 1
    merge(config, [porto()])  # the same rooms again: nothing to redo
    assert generation(config) == before + 1
    merge(config, [])
    assert "porto" not in circle.rooms
    assert [r.id for r in config.rooms] == ["cdmx", "berlin", "nyc"]
    assert generation(config) == before + 2


def test_the_config_file_wins_over_a_linked_room_with_its_id_or_its_chat(tmp_path: Path) -> None:
    config = memory_config(tmp_path, "redis://127.0.0.1:1").config
    dropped = merge(config, [porto(room_id="berlin", chat="x9"), porto(chat="a1"),
                             porto(room_id="lima", chat="l1", circle="nowhere")])  # fmt: skip
    assert sorted(dropped) == ["berlin", "lima", "porto"]
    assert config.room("berlin").language == "de"  # the file's, untouched
    assert [r.id for r in config.rooms] == ["cdmx", "berlin", "nyc"]


def test_room_ids_come_from_labels() -> None:
    assert room_id_for("São Paulo") == "sao-paulo"
    assert room_id_for("  Zürich / Nord ") == "zurich-nord"
    assert room_id_for("Local") == "local-room"  # "callout add ... local" could not name it
    assert room_id_for("東京") == ""


def test_codes_are_read_leniently_and_shown_only_as_a_hint() -> None:
    assert normalize("tl-7kq2-m9") == normalize("TL 7KQ2 M9") == "7KQ2M9"
    assert normalize("tl-7KQ2-MO") == "7KQ2M0"  # O read as zero
    assert normalize("tl-7KQ2") is None
    assert normalize("tl-7KQ2-M9U") is None
    assert hint("tl-7KQ2-M9") == "tl-7K…"


async def test_a_code_links_once_even_when_two_chats_race(
    tmp_path: Path, redis_client: redis.asyncio.Redis
) -> None:
    store = LinkStore(redis_client, time.time)
    code = await store.invite("net", "memory:ana", "cdmx")
    assert code is not None
    raced = await asyncio.gather(
        store.redeem(code, "net", porto(chat="p1")),
        store.redeem(code, "net", porto(room_id="porto-2", chat="p2")),
    )
    assert sorted(r.outcome for r in raced) == ["linked", "unknown"]
    assert [r.room.chat for r in await store.rooms()] in (["p1"], ["p2"])
    assert await store.invites("net") == []
    # a chat or a room id linked already cannot be linked twice
    second = await store.invite("net", "memory:ana", "cdmx")
    assert second is not None
    taken = (await store.rooms())[0]
    assert (await store.redeem(second, "net", taken)).outcome == "id"
    again = porto(room_id="other", chat=taken.room.chat)
    assert (await store.redeem(second, "net", again)).outcome == "chat"
    assert (await store.redeem(second, "elsewhere", porto("x", "x1"))).outcome == "unknown"


async def test_at_start_the_file_takes_over_and_a_broken_record_is_skipped(
    tmp_path: Path, redis_client: redis.asyncio.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    config = memory_config(tmp_path, "redis://127.0.0.1:1").config
    await redis_client.hset(keys.LINKED, mapping={
        "nyc": porto(room_id="nyc", chat="n9").model_dump_json(),
        "porto": porto().model_dump_json(),
        "lima": '{"room": {"id": "lima", "chat": "Marta calle Sol 5"',  # cut short
    })  # fmt: skip
    with caplog.at_level(logging.WARNING):
        await load(config, LinkStore(redis_client, time.time))
    assert is_linked(config, "porto")
    assert not is_linked(config, "nyc")
    assert config.room("nyc").chat == "c1"  # the file's room
    assert await redis_client.hexists(keys.LINKED, "nyc") == 0  # dropped: the file decides
    assert "lima is unreadable" in caplog.text
    assert "Marta" not in caplog.text


async def test_a_running_bridge_carries_a_room_linked_after_it_started(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    loaded = memory_config(tmp_path, redis_url, relay="all")
    async with running(loaded) as (app, network):
        app.links_every_s = 0.05
        store = LinkStore(redis_client, time.time)
        code = await store.invite("net", "memory:ana", "cdmx")
        assert code is not None
        assert (await store.redeem(code, "net", porto())).outcome == "linked"
        bot = network.bots["a"]
        await eventually(lambda: any("porto" in s for s in bot.served), what="serve(porto)")
        hello = Envelope(key="link-core:1", kind="message", bot="a", chat="p1", message_id="1",
                         sender=Sender(id="memory:rita", name="Rita"), text="Olá")  # fmt: skip
        await bot.ctx.emit(hello)
        await eventually(lambda: any("Olá" in m.text for m in network.chats.get("b1", {}).values()),
                         what="Porto's message in Berlin")  # fmt: skip
        assert app.config.room("porto").label == "Porto"
