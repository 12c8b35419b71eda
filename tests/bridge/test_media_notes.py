"""A file that cannot cross leaves a note in the target room's language, as every other text
of the bridge: "[Video, 300 MB, zu groß zum Übertragen]" in Berlin, "[archivo, ...]" in Lima.
Through the real Telegram adapter and the sandbox Bot API server, a real Synapse, and the
in-memory bots; the wording of each reason and kind from the catalogs (bridge.model.media_note).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import redis.asyncio

from bots.matrix.bot import MatrixBot
from bots.matrix.settings import MatrixSettings
from bridge.model import keys, media_note
from bridge.model.envelope import Delivery, Envelope, Media, MsgRef
from bridge.model.ports import BotContext, Job
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import ANA, BERLIN, CDMX, tg
from tests.bots.telegram_world import world_config as config
from tests.bots.test_matrix import bot_user, from_bot, matrix_bot
from tests.bots.test_matrix import config as matrix_config
from tests.bridge.test_scrub import mp4_with_gps
from tests.harness import eventually, running
from tests.synapse_fixture import create_room, joined, member, synapse

__all__ = ["synapse", "tg"]  # the fixtures, as tests/bots/conftest.py gives them there

GONE = keys.media("0" * 64)  # a blob the media store no longer holds
SHIPPED = ("ca", "de", "en", "es", "fr", "it", "pt")


def texts(tg: BotApiServer, chat: int) -> list[str]:
    return [str(m["text"] or "") for m in tg.messages(chat)]


async def test_a_video_too_large_to_carry_reads_its_note_in_german_in_a_german_room(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        tg.post_av(CDMX, ANA, "video", mp4_with_gps(), "Video de la marcha", mime_type="video/mp4",
                   declared_size=62 * 1024 * 1024)  # fmt: skip
        await eventually(lambda: bool(tg.messages(BERLIN)) and bool(net.seen_in("nyc")))
    berlin = texts(tg, BERLIN)[0]
    assert "Video de la marcha" in berlin
    assert "\n[Video, 62 MB, zu groß zum Übertragen]" in berlin  # a footer may follow
    assert "too large" not in berlin
    assert "[video, 62 MB, too large to carry]" in net.seen_in("nyc")[0].text  # English there


async def test_a_file_whose_bytes_expired_reads_its_note_in_spanish_through_telegram(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    expired = Delivery(
        key="cp:berlin:1>cdmx", action="send", bot="tg-a", room="cdmx", chat=str(CDMX),
        origin=MsgRef(room="berlin", id="1"), attribution="Jonas (Berlin)", text="Das Protokoll",
        media=Media(kind="file", name="protokoll.pdf", size=2 * 1024 * 1024, blob=GONE),
        language="es",
    )  # fmt: skip
    async with running(config(tmp_path, redis_url, tg)):
        await redis_client.xadd(keys.outbox("tg-a"), {"d": expired.model_dump_json()})
        await eventually(lambda: any("Das Protokoll" in t for t in texts(tg, CDMX)))
    shown = next(t for t in texts(tg, CDMX) if "Das Protokoll" in t)
    assert shown.endswith("[archivo, protokoll.pdf, 2 MB, caducó, no se transmitió]")
    assert [m["kind"] for m in tg.messages(CDMX)] == ["text"]  # the note, not a broken file


async def test_a_file_gone_from_the_store_reads_its_note_in_spanish_in_a_matrix_room(
    tmp_path: Path, redis_client: redis.asyncio.Redis, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    async with member(synapse, "luz", display="Luz") as luz:
        lima = await create_room(luz, invite=(bot,))
        room = {"id": "lima", "bot": "mx", "chat": lima, "language": "es", "label": "Lima"}
        other = {**room, "id": "cdmx", "chat": "!elsewhere:localhost", "label": "CDMX"}
        bots = [matrix_bot(synapse, bot, sync_timeout_ms=500)]
        loaded = matrix_config(tmp_path, "redis://unused", bots, [room, other])

        async def emit(envelope: Envelope) -> None:
            return None

        settings = loaded.config.bots[0]
        assert isinstance(settings, MatrixSettings)
        ctx = BotContext(settings, loaded.config.rooms[:1], redis_client,
                         tmp_path / "data", emit)  # fmt: skip
        adapter = MatrixBot(ctx)
        delivery = Delivery(key="cp:cdmx:7>lima", action="send", bot="mx", room="lima", chat=lima,
                            origin=MsgRef(room="cdmx", id="7"), attribution="Ana (CDMX)",
                            media=Media(kind="voice", size=600, blob=GONE),
                            language="es")  # fmt: skip
        await adapter.start()
        try:
            await joined(luz, lima, bot)
            await eventually(lambda: adapter.client is not None and lima in adapter.client.rooms)
            await adapter.deliver(Job(delivery))
        finally:
            await adapter.close()
        await luz.sync(0)
        bodies = [e["body"] for e in from_bot(luz.events[lima], bot)]
    assert bodies == ["Ana (CDMX)\n[mensaje de voz, 600 B, caducó, no se transmitió]"]


async def test_a_note_names_the_file_in_the_room_but_never_in_a_log(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    tg: BotApiServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "Mieterliste_Haus12_Namen.pdf"
    caplog.set_level(logging.DEBUG)
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        tg.post(CDMX, ANA, "", document=(secret, b"%PDF-1.4 tiny", "application/pdf"),
                declared_size=30 * 1024 * 1024)  # fmt: skip
        await eventually(lambda: any(secret in t for t in texts(tg, BERLIN)))
        await eventually(lambda: bool(net.seen_in("nyc")))
    assert any(t.endswith(f"[Datei, {secret}, 30 MB, zu groß zum Übertragen]")
               for t in texts(tg, BERLIN))  # fmt: skip
    assert secret not in caplog.text
    assert "Mieterliste" not in caplog.text


@pytest.mark.parametrize("language", SHIPPED)
def test_every_kind_and_reason_has_its_words_in_every_shipped_language(language: str) -> None:
    for kind in media_note.KINDS:
        media = Media.model_validate({"kind": kind, "size": 5 * 1024})
        for reason in media_note.REASONS:
            shown, english = media.describe(reason, language), media.describe(reason)
            assert shown.startswith("[")
            assert shown.endswith("]")
            assert (shown == english) == (language == "en"), (language, kind, reason, shown)
    assert "-" not in Media(kind="photo").describe(media_note.TOO_LARGE, language)  # no code


def test_sizes_follow_the_room_language_as_cldr_writes_them() -> None:
    video = Media(kind="video", size=62 * 1024 * 1024)
    assert video.describe(media_note.TOO_LARGE, "fr") == (
        "[vidéo, 62\u202fMo, trop volumineux pour être transmis]"
    )
    assert Media(kind="file", size=3 * 1024).describe("", "de") == "[Datei, 3 kB]"
    assert Media(kind="file", size=1).describe("", "en") == "[file, 1 byte]"
    assert Media(kind="file", size=98).describe("", "en") == "[file, 98 bytes]"
    assert Media(kind="sticker", emoji="✊").describe(media_note.ANIMATED, "ca") == (
        "[adhesiu ✊, animat, no s'ha transmès]"
    )


def test_a_hostile_file_name_or_an_unknown_note_is_shown_as_it_is() -> None:
    """A sender's file name is text, never a template: braces and markup stay as sent; a note
    the bridge does not know (a newer version's code) is shown rather than lost."""
    name = "{size}{reason}</b><script>.pdf"
    doc = Media(kind="file", name=name, size=2048, note="not-yet-known")
    assert doc.describe("", "es") == f"[archivo, {name}, 2 kB, not-yet-known]"
    assert Media(kind="photo").describe("", "de") == "[Foto]"
