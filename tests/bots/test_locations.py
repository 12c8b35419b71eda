"""Locations are dangerous to carry: off by default, a note in the room's language instead;
a circle with ``carry_locations: true`` carries them as native locations (a point, or a
venue); a live location never crosses (a note once, then nothing of its moves). Through the
real Telegram adapter and the sandbox Bot API server; the Matrix half (``m.location`` with a
``geo:`` URI, forged coordinates) is in tests/bots/test_matrix_threads.py."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio

from bridge.model.envelope import Location
from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import ANA, BERLIN, CDMX
from tests.bots.telegram_world import world_config as config
from tests.harness import eventually, running

CARRIED = [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": "all",
            "carry_locations": True}]  # fmt: skip


async def test_a_location_becomes_a_note_in_the_rooms_language_by_default(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg)) as (_, net):
        tg.post_place(CDMX, ANA, 19.4326, -99.1332)
        await eventually(lambda: bool(tg.messages(BERLIN)) and bool(net.seen_in("nyc")))
    shown = tg.messages(BERLIN)
    assert [m["kind"] for m in shown] == ["text"]  # no location in Berlin
    assert shown[0]["text"] == "Ana (CDMX)\n[Standort nicht übertragen]"
    assert "19.43" not in str(shown[0])
    assert "99.13" not in str(shown[0])
    assert net.seen_in("nyc")[0].text.endswith("[location not carried]")


async def test_a_circle_that_carries_locations_sends_a_point_and_a_venue(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg, circles=CARRIED)):
        tg.post_place(CDMX, ANA, 19.4326, -99.1332)
        tg.post_place(CDMX, ANA, 19.42, -99.16, title="Asamblea", address="Calle Luna 5")
        await eventually(lambda: len([m for m in tg.messages(BERLIN) if m["kind"] != "text"]) == 2)
    shown = tg.messages(BERLIN)
    assert [m["kind"] for m in shown] == ["text", "location", "text", "venue"]
    assert shown[0]["text"] == "Ana (CDMX)"  # who shares it, then the place
    assert shown[1]["location"] == {"latitude": 19.4326, "longitude": -99.1332}
    venue = shown[3]["venue"]
    assert isinstance(venue, dict)
    assert (venue["title"], venue["address"]) == ("Asamblea", "Calle Luna 5")


async def test_a_live_location_never_crosses_a_note_once_then_nothing_of_its_moves(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg, circles=CARRIED)) as (_, net):
        live = tg.post_place(CDMX, ANA, 19.4326, -99.1332, live_period=3600)
        for step in range(1, 4):
            tg.move_place(CDMX, int(live["message_id"]), 19.4326 + step / 1000, -99.1332)
        tg.post(CDMX, ANA, "listo")
        await eventually(lambda: any("listo" in str(m["text"]) for m in tg.messages(BERLIN)))
        await eventually(lambda: any("listo" in m.text for m in net.seen_in("nyc")), what="NYC's")
    shown = tg.messages(BERLIN)
    assert [str(m["text"]).split("\n")[:2] for m in shown] == [
        ["Ana (CDMX)", "[Standort nicht übertragen]"], ["Ana (CDMX)", "listo"]
    ]  # fmt: skip
    assert all(m["edit_date"] is None for m in shown)  # the moves changed nothing
    assert len(net.seen_in("nyc")) == 2


def test_a_forged_location_out_of_range_or_not_a_number_is_refused_not_raised() -> None:
    for lat, lon in ((91.0, 0.0), (0.0, -180.5), (float("nan"), 0.0), ("19.4", "-99.1"),
                     (True, 0.0), (float("inf"), 1.0), (10**400, 0)):  # fmt: skip
        assert Location.of(lat, lon) is None
    long_title = Location.of(1.0, 2.0, "x" * 100_000, "y" * 100_000)
    assert long_title is not None
    assert len(long_title.title) == 256
