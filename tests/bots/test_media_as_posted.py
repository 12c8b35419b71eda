"""Video, audio, animations and video notes cross as posted, without their metadata, within
each platform's limits: through the real Telegram adapter and the sandbox Bot API server
(Telegram to Telegram), and through a real Synapse (tests/bots/test_matrix_threads.py has the
Matrix half of the round trip here: ``test_video_and_audio_cross_both_ways_...``)."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio

from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import ANA, BERLIN, CDMX
from tests.bots.telegram_world import world_config as config
from tests.bridge.test_scrub import SECRET_WORDS, mp4_with_gps
from tests.harness import eventually, running

JSON = dict[str, object]


def media_messages(tg: BotApiServer, chat: int) -> list[JSON]:
    return [m for m in tg.messages(chat) if m.get("kind") != "text"]


def file_id(message: JSON, kind: str) -> str:
    found = message[kind]
    assert isinstance(found, dict)
    return str(found["file_id"])


def leaks(data: bytes) -> list[bytes]:
    return [word for word in SECRET_WORDS if word in data]


async def test_a_video_and_an_audio_file_cross_as_video_and_audio_without_their_tags(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    video, audio = mp4_with_gps(), mp4_with_gps(b"M4A ")
    assert leaks(video)  # mutagen wrote a GPS location and the phone
    assert leaks(audio)
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        tg.post_av(CDMX, ANA, "video", video, "Desalojo en calle Luna", file_name="clip.mp4",
                   mime_type="video/mp4", duration=5, width=640, height=360)  # fmt: skip
        tg.post_av(CDMX, ANA, "audio", audio, "", file_name="asamblea.m4a",
                   mime_type="audio/mp4", duration=5)  # fmt: skip
        await eventually(lambda: len(media_messages(tg, BERLIN)) == 2 and
                         len(net.seen_in("nyc")) == 2)  # fmt: skip
    copy_video, copy_audio = media_messages(tg, BERLIN)
    assert copy_video["kind"] == "video"
    assert copy_audio["kind"] == "audio"
    assert str(copy_video["text"]).startswith("Ana (CDMX)\nDesalojo en calle Luna")
    assert isinstance(copy_video["video"], dict)
    assert (copy_video["video"]["width"], copy_video["video"]["height"]) == (640, 360)
    assert copy_video["video"]["duration"] == 5
    for copy, kind, original in ((copy_video, "video", video), (copy_audio, "audio", audio)):
        carried = tg.file_bytes(file_id(copy, kind))
        assert leaks(carried) == []  # the tags are gone from the bytes that arrived
        assert len(carried) == len(original)  # overwritten in place: the stream untouched
    assert all(m.file is not None and leaks(m.file) == [] for m in net.seen_in("nyc"))


async def test_an_animation_and_a_video_note_cross_as_animation_and_video(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg)):
        tg.post_av(CDMX, ANA, "animation", mp4_with_gps(), "", mime_type="video/mp4",
                   file_name="gif.mp4", width=320, height=240)  # fmt: skip
        tg.post_av(CDMX, ANA, "video_note", mp4_with_gps(), width=240, height=240, duration=3)
        await eventually(lambda: len(media_messages(tg, BERLIN)) == 2)
    animation, note = media_messages(tg, BERLIN)
    assert animation["kind"] == "animation"
    assert note["kind"] == "video"  # a bot cannot make a round video note: a video
    assert isinstance(note["video"], dict)
    assert (note["video"]["width"], note["video"]["height"]) == (240, 240)
    assert leaks(tg.file_bytes(file_id(note, "video"))) == []


async def test_a_video_over_the_download_limit_becomes_a_note_and_the_text_still_crosses(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        tg.post_av(CDMX, ANA, "video", mp4_with_gps(), "Video de la marcha", mime_type="video/mp4",
                   declared_size=300 * 1024 * 1024)  # fmt: skip
        await eventually(lambda: bool(tg.messages(BERLIN)) and bool(net.seen_in("nyc")))
        tg.post(CDMX, ANA, "Y después")  # the next message is not held up
        await eventually(lambda: any("después" in str(m["text"]) for m in tg.messages(BERLIN)))
    first = tg.messages(BERLIN)[0]
    assert first["kind"] == "text"
    assert "Video de la marcha" in str(first["text"])
    assert "[Video, 300 MB, zu groß zum Übertragen]" in str(first["text"])  # Berlin's language
    assert "[video, 300 MB, too large to carry]" in net.seen_in("nyc")[0].text


async def test_a_video_in_a_format_whose_tags_cannot_be_read_becomes_a_note(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    forged = b"\x1aE\xdf\xa3 matroska, with GPS +19.4326-099.1332/ inside"  # not MP4
    async with running(config(tmp_path, redis_url, tg)):
        tg.post_av(CDMX, ANA, "video", forged, "otra", mime_type="video/x-matroska")
        await eventually(lambda: bool(tg.messages(BERLIN)))
    shown = tg.messages(BERLIN)
    assert [m["kind"] for m in shown] == ["text"]
    assert "nicht übertragen: die Metadaten ließen sich nicht entfernen" in str(shown[0]["text"])
