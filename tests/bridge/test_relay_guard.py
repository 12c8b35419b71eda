"""What the relay keeps in: encrypted threads stay in encrypted rooms; media cross as files
or as honest notes. In-memory bots over the real embedded Redis."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio

from bridge.model import media_note
from bridge.model.envelope import Media
from bridge.model.media import MediaStore
from tests.bridge.test_moderation import settled
from tests.harness import eventually, memory_config, running
from tests.helpers import pdf_leaflet
from tests.memory_bot import NETWORK


def _bot_notices(chat: str) -> list[str]:
    """The bridge's notices about held threads that members of ``chat`` see (in the room's
    language; the setting's name is the same in all)."""
    return [m.text for m in NETWORK.seen_in(chat) if m.notice and "allow_unencrypted" in m.text]


async def test_an_encrypted_thread_never_reaches_an_unencrypted_room(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    NETWORK.encrypted.update({"a1", "b1"})  # CDMX and Berlin are encrypted, NYC is not
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        first = await net.bot("a").post("a1", "Dirección de la casa segura", name="Ana")
        await eventually(lambda: len(net.seen_in("b1")) == 1, what="the copy in Berlin")
        # the operator is told once, in the origin room (no ops_room here), with labels only
        await eventually(lambda: len(_bot_notices("a1")) == 1, what="the notice")
        notice = _bot_notices("a1")[0]
        assert "NYC" in notice
        assert "allow_unencrypted" in notice
        assert "casa segura" not in notice

        await net.bot("a").post("a1", "Y la hora", name="Ana", reply_to=first)
        await net.bot("b").post("b1", "Wir sind da", name="Jonas")  # from encrypted Berlin too
        await eventually(lambda: len(net.seen_in("b1")) == 2 and len(net.seen_in("a1")) >= 3)
        await net.bot("c").post("c1", "NYC checking in", name="Maya")  # NYC -> others: fine
        await eventually(lambda: any("NYC checking in" in m.text for m in net.seen_in("b1")))
        assert not any("casa segura" in m.text or "Y la hora" in m.text or "Wir sind" in m.text
                       for m in net.seen_in("c1"))  # fmt: skip
        # one notice per thread: the reply added none; Berlin's own thread got its own
        assert len(_bot_notices("a1")) == 1
        assert len(_bot_notices("b1")) == 1


async def test_a_circle_may_allow_unencrypted_rooms(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    NETWORK.encrypted.update({"a1"})
    everyone = ["cdmx", "berlin", "nyc"]
    circles = [{"id": "net", "rooms": everyone, "relay": "all", "allow_unencrypted": True}]
    async with running(memory_config(tmp_path, redis_url, circles=circles)) as (_, net):
        await net.bot("a").post("a1", "Asamblea abierta", name="Ana")
        await eventually(lambda: len(net.seen_in("b1")) == 1 and len(net.seen_in("c1")) == 1)
        await settled(net)  # a notice to CDMX would come from its own bot: it has had its turn
        assert _bot_notices("a1") == []


async def test_media_cross_as_files_or_as_honest_notes(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    store = MediaStore(redis_client, ttl_s=3600)
    flyer = pdf_leaflet("Blockade at dawn")
    leaflet = await store.take(Media(kind="file", name="flyer.pdf"), flyer)
    async with running(memory_config(tmp_path, redis_url)) as (_, net):
        await net.bot("a").post("a1", "El volante", name="Ana", media=leaflet)
        too_big = Media(kind="photo", size=12 * 1024 * 1024, note=media_note.TOO_LARGE)
        await net.bot("a").post("a1", "", name="Ana", media=too_big)
        await eventually(lambda: len(net.seen_in("b1")) == 2)
        carried, noted = net.seen_in("b1")
        assert carried.file is not None
        assert b"Blockade at dawn" in carried.file
        assert "El volante" in carried.text
        assert noted.file is None
        assert noted.text.endswith("[Foto, 12 MB, zu groß zum Übertragen]")  # in German
