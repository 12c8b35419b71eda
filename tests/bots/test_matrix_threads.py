"""Matrix threads, locations, video and audio, and pins, through a real Synapse (the shared
one: tests/synapse_fixture.py) and the sandbox Bot API server.

- a thread reply in one Matrix room shows in the other as ``m.thread`` under the root's copy;
  a reply to it from there comes back in the thread; an event that claims a thread root of
  another room is a plain message;
- video and audio cross Matrix -> Telegram -> Matrix as m.video / sendVideo and sendAudio /
  m.audio, with duration, and without their tags (asserted on the bytes that arrive);
- an m.location becomes a note unless the circle carries locations, and then an m.location
  and a Telegram location; a forged geo: URI is a note;
- a call-out copy with ``pin: true`` is appended to the room's pinned events.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import redis.asyncio
from nio import RoomPutStateResponse, UploadResponse

from bots.matrix.ingest import Where, read_event
from bridge.infra.bus import Inbox
from bridge.model import keys
from bridge.model.envelope import Delivery, MsgRef
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.test_matrix import CDMX, JUAN, TOKEN, bot_user, config, from_bot, matrix_bot
from tests.bots.test_matrix import tg as tg  # the fixture
from tests.bots.test_matrix_paths import fetch, two_rooms
from tests.bridge.test_scrub import SECRET_WORDS, mp4_with_gps
from tests.harness import eventually, running
from tests.helpers import sandbox_bot
from tests.synapse_fixture import create_room, joined, member

JSON = dict[str, Any]


def thread_reply(body: str, root: str) -> JSON:
    """A reply in a thread as Element sends it."""
    return {"msgtype": "m.text", "body": body,
            "m.relates_to": {"rel_type": "m.thread", "event_id": root, "is_falling_back": True,
                             "m.in_reply_to": {"event_id": root}}}  # fmt: skip


def event_of(events: list[JSON], content: JSON) -> str:
    return str(next(e["event_id"] for e in events if e.get("content") is content))


def leaks(data: bytes) -> list[bytes]:
    return [word for word in SECRET_WORDS if word in data]


async def test_a_thread_reply_shows_as_m_thread_under_the_roots_copy_and_comes_back_in_it(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    async with member(synapse, "ana", display="Ana") as ana, \
               member(synapse, "ben", display="Ben") as ben:  # fmt: skip
        berlin = await create_room(ana, invite=(bot,))
        wien = await create_room(ben, invite=(bot,))
        async with running(config(tmp_path, redis_url, [matrix_bot(synapse, bot)],
                                  two_rooms(berlin, wien))):  # fmt: skip
            await joined(ana, berlin, bot)
            await joined(ben, wien, bot)
            root = await ana.say(berlin, "Asamblea el jueves")
            events = await ben.wait_for(wien, lambda ev: len(from_bot(ev, bot)) == 1)
            root_copy = event_of(events, from_bot(events, bot)[0])

            await ana.send(berlin, thread_reply("¿A qué hora?", root))
            events = await ben.wait_for(wien, lambda ev: len(from_bot(ev, bot)) == 2)
            reply = from_bot(events, bot)[1]
            assert reply["body"] == "Ana (Berlin)\n¿A qué hora?"
            assert reply["m.relates_to"] == {
                "rel_type": "m.thread", "event_id": root_copy, "is_falling_back": True,
                "m.in_reply_to": {"event_id": root_copy},
            }  # fmt: skip
            reply_copy = event_of(events, reply)

            # Ben answers Ana's question inside the thread: in Berlin, in the thread under
            # Ana's own root, as a genuine reply to her question
            await ben.send(wien, {**thread_reply("A las 19", root_copy), "m.relates_to": {
                "rel_type": "m.thread", "event_id": root_copy, "is_falling_back": False,
                "m.in_reply_to": {"event_id": reply_copy}}})  # fmt: skip
            events = await ana.wait_for(berlin, lambda ev: len(from_bot(ev, bot)) == 1)
            back = from_bot(events, bot)[0]
            assert back["body"] == "Ben (Wien)\nA las 19"
            relates = back["m.relates_to"]
            assert (relates["rel_type"], relates["event_id"]) == ("m.thread", root)
            assert relates["is_falling_back"] is False
            question = next(e["event_id"] for e in events
                            if e.get("content", {}).get("body") == "¿A qué hora?")  # fmt: skip
            assert relates["m.in_reply_to"] == {"event_id": question}


async def test_an_event_claiming_a_thread_root_of_another_room_crosses_as_a_plain_message(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    """Synapse refuses a client's relation to an event it does not hold in the room; over
    federation such an event comes anyway. It is read (bots/matrix/ingest.py) and put in
    the inbox as the bot would, claiming the thread of an event of the other room."""
    bot = await bot_user(synapse)
    async with member(synapse, "ana", display="Ana") as ana, \
               member(synapse, "ben", display="Ben") as ben:  # fmt: skip
        berlin = await create_room(ana, invite=(bot,))
        wien = await create_room(ben, invite=(bot,))
        async with running(config(tmp_path, redis_url, [matrix_bot(synapse, bot)],
                                  two_rooms(berlin, wien))):  # fmt: skip
            await joined(ana, berlin, bot)
            await joined(ben, wien, bot)
            theirs = await ben.say(wien, "Nur für Wien")  # an event of the other room
            await ana.wait_for(berlin, lambda ev: len(from_bot(ev, bot)) == 1)
            forged = {"type": "m.room.message", "event_id": "$forged" + "x" * 40,
                      "sender": "@mallory:elsewhere.example", "origin_server_ts": 1,
                      "content": thread_reply("colado", theirs)}  # fmt: skip
            read = read_event(forged, Where(bot="mx", chat=berlin, own=bot), "Mallory")
            assert read is not None
            assert read.envelope.reply_to == theirs  # what it claims
            await Inbox(redis_client, 4).publish(read.envelope)
            events = await ben.wait_for(wien, lambda ev: len(from_bot(ev, bot)) == 1)
        copy = from_bot(events, bot)[0]
        assert copy["body"] == "Mallory (Berlin)\ncolado"
        assert "m.relates_to" not in copy  # not a reply to Ben's message, not in its thread


async def upload(person: Any, room: str, msgtype: str, data: bytes, mime: str, name: str) -> None:
    response, _keys = await person.client.upload(
        io.BytesIO(data), content_type=mime, filename=name, filesize=len(data)
    )
    assert isinstance(response, UploadResponse)
    info = {"mimetype": mime, "size": len(data), "duration": 5000}
    await person.send(room, {"msgtype": msgtype, "body": name, "filename": name, "info": info,
                             "url": response.content_uri})  # fmt: skip


async def test_video_and_audio_cross_both_ways_between_matrix_and_telegram_without_tags(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str,
    synapse: SynapseServer, tg: BotApiServer,
) -> None:  # fmt: skip
    bot = await bot_user(synapse)
    video, audio = mp4_with_gps(), mp4_with_gps(b"M4A ")
    async with member(synapse, "ana", display="Ana") as ana:
        berlin = await create_room(ana, invite=(bot,))
        rooms = [
            {"id": "berlin", "bot": "mx", "chat": berlin, "language": "es", "label": "Berlin"},
            {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX"},
        ]
        bots = [matrix_bot(synapse, bot), sandbox_bot("tg", TOKEN, tg.url, limits_scale=0.01)]
        async with running(config(tmp_path, redis_url, bots, rooms)):
            await joined(ana, berlin, bot)
            await upload(ana, berlin, "m.video", video, "video/mp4", "clip.mp4")
            await upload(ana, berlin, "m.audio", audio, "audio/mp4", "asamblea.m4a")
            kinds = lambda: [m["kind"] for m in tg.messages(CDMX) if m["kind"] != "text"]  # noqa: E731
            await eventually(lambda: kinds() == ["video", "audio"])
            shown = [m for m in tg.messages(CDMX) if m["kind"] != "text"]
            for message, kind in zip(shown, ("video", "audio"), strict=True):
                assert message[kind]["duration"] == 5
                assert leaks(tg.file_bytes(message[kind]["file_id"])) == []

            tg.post_av(CDMX, JUAN, "video", video, "Desde CDMX", mime_type="video/mp4",
                       file_name="marcha.mp4", duration=7, width=640, height=360)  # fmt: skip
            tg.post_av(CDMX, JUAN, "audio", audio, "", mime_type="audio/mp4",
                       file_name="canto.m4a", duration=7)  # fmt: skip
            wanted = ("m.video", "m.audio")
            files = lambda ev: [c for c in from_bot(ev, bot) if c.get("msgtype") in wanted]  # noqa: E731
            events = await ana.wait_for(berlin, lambda ev: len(files(ev)) == 2)
        arrived_video, arrived_audio = files(events)
        assert arrived_video["msgtype"] == "m.video"
        assert arrived_audio["msgtype"] == "m.audio"
        assert arrived_video["info"]["duration"] == 7000
        assert (arrived_video["info"]["w"], arrived_video["info"]["h"]) == (640, 360)
        for content in (arrived_video, arrived_audio):
            assert leaks(await fetch(ana, content)) == []
        assert any(c["body"] == "Juan (CDMX)\nDesde CDMX" for c in from_bot(events, bot))


async def test_a_matrix_location_is_a_note_unless_carried_and_a_forged_one_is_a_note(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str,
    synapse: SynapseServer, tg: BotApiServer,
) -> None:  # fmt: skip
    bot = await bot_user(synapse)
    async with member(synapse, "ana", display="Ana") as ana, \
               member(synapse, "ben", display="Ben") as ben:  # fmt: skip
        berlin = await create_room(ana, invite=(bot,))
        wien = await create_room(ben, invite=(bot,))
        rooms = [
            *two_rooms(berlin, wien),
            {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX"},
        ]
        bots = [matrix_bot(synapse, bot), sandbox_bot("tg", TOKEN, tg.url, limits_scale=0.01)]
        place = {"msgtype": "m.location", "body": "Plaza", "geo_uri": "geo:52.52,13.405;u=20"}
        async with running(config(tmp_path, redis_url, bots, rooms)):
            await joined(ana, berlin, bot)
            await joined(ben, wien, bot)
            await ana.send(berlin, place)
            events = await ben.wait_for(wien, lambda ev: len(from_bot(ev, bot)) == 1)
            assert from_bot(events, bot)[0]["body"] == "Ana (Berlin)\n[ubicación no transmitida]"
            assert "52.52" not in str(events)
            await eventually(lambda: any("[ubicación no transmitida]" in str(m["text"])
                                         for m in tg.messages(CDMX)))  # fmt: skip

        circles = [{"id": "net", "rooms": ["berlin", "wien", "cdmx"], "relay": "all",
                    "carry_locations": True}]  # fmt: skip
        async with running(config(tmp_path, redis_url, bots, rooms, circles=circles)):
            await ana.send(berlin, place)
            for forged in ("geo:91.0,13.4", "geo:52.5," + "1" * 60_000, "geo:NaN,1"):
                await ana.send(berlin, {"msgtype": "m.location", "body": "x", "geo_uri": forged})
            events = await ben.wait_for(wien, lambda ev: len(from_bot(ev, bot)) == 6)
            await eventually(lambda: any(m["kind"] == "location" for m in tg.messages(CDMX)))
        copies = from_bot(events, bot)[1:]
        assert copies[0]["body"] == "Ana (Berlin)"
        assert copies[1]["msgtype"] == "m.location"
        assert copies[1]["geo_uri"] == "geo:52.52,13.405"
        assert [c["body"] for c in copies[2:]] == ["Ana (Berlin)\n[ubicación no transmitida]"] * 3
        located = next(m for m in tg.messages(CDMX) if m["kind"] == "location")
        assert located["location"] == {"latitude": 52.52, "longitude": 13.405}


async def test_a_pinned_call_out_copy_is_appended_to_the_rooms_pinned_events(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    async with member(synapse, "ana", display="Ana") as ana, \
               member(synapse, "ben", display="Ben") as ben:  # fmt: skip
        berlin = await create_room(ana, invite=(bot,))
        wien = await create_room(ben, invite=(bot,))
        kept = await ana.say(berlin, "Reglas de la sala")
        put = await ana.client.room_put_state(berlin, "m.room.pinned_events", {"pinned": [kept]})
        assert isinstance(put, RoomPutStateResponse), put
        async with running(config(tmp_path, redis_url, [matrix_bot(synapse, bot)],
                                  two_rooms(berlin, wien))):  # fmt: skip
            await joined(ana, berlin, bot)
            put = await ana.client.room_put_state(
                berlin, "m.room.power_levels", {"users": {bot: 50}}
            )  # now it may pin
            assert isinstance(put, RoomPutStateResponse), put
            callout = Delivery(key="callout:pin-test>berlin", action="send", bot="mx",
                               room="berlin", chat=berlin, origin=MsgRef(room="callout", id="c1"),
                               text="Bloqueo a las 7", language="es", callout=True, pin=True,
                               notice=True)  # fmt: skip
            await redis_client.xadd(keys.outbox("mx"), {"d": callout.model_dump_json()})
            events = await ana.wait_for(berlin, lambda ev: any(_pins(e) for e in ev))
        pinned = next(_pins(e) for e in reversed(events) if _pins(e))
        copy = next(e["event_id"] for e in events
                    if str(e.get("content", {}).get("body")).endswith("a las 7"))  # fmt: skip
        assert pinned == [kept, copy]  # appended: the room's own pin stays first


def _pins(event: JSON) -> list[str] | None:
    if event.get("type") != "m.room.pinned_events" or len(event["content"]["pinned"]) < 2:
        return None
    return list(event["content"]["pinned"])
