"""block, report and forgetme end to end: CDMX is a Telegram group on the sandbox Bot API
server, Berlin a Matrix room on a real Synapse, NYC an in-memory room, in one circle.

What people would notice: Berlin's moderator blocks a CDMX sender, whose next message reaches
NYC but not Berlin; a Berlin member's report reaches CDMX's moderators, in Spanish, as a
reply to the original; a CDMX member's forgetme removes her three messages (one a photo) from
Berlin and NYC, and the keys of Redis, scanned, hold nothing of hers."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
from PIL import Image

from bridge.model import keys
from bridge.model.envelope import MsgRef
from bridge.moderation.audit import Audit
from bridge.relay.maps import MapReader
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.test_matrix import bot_user, config, matrix_bot
from tests.harness import eventually, eventually_async, running
from tests.helpers import sandbox_bot
from tests.memory_bot import NETWORK
from tests.synapse_fixture import create_room, joined, member

TOKEN = "5000031:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
CDMX = -1001000000031
ANA, TROLL, BETO = 2031, 2032, 2033  # Beto administers the group
KEY = "p" * 32


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with BotApiServer(limits=False) as server:
        server.add_bot(TOKEN, "cdmx_bridge_bot")
        server.create_chat(CDMX, "Inquilinas CDMX")
        server.add_member(CDMX, 5000031, admin=True)
        for user, name in ((ANA, "Ana"), (TROLL, "Troll"), (BETO, "Beto")):
            server.add_user(user, name)
            server.add_member(CDMX, user, admin=user == BETO)
        yield server


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def copies_in(events: list[dict[str, Any]], bot: str, needle: str) -> list[str]:
    """Event ids of the bot's copies whose body holds ``needle``."""
    return [
        str(e["event_id"])
        for e in events
        if e.get("sender") == bot
        and e.get("type") == "m.room.message"
        and needle in str((e.get("content") or {}).get("body", ""))
    ]


def notices_in(events: list[dict[str, Any]], bot: str) -> list[str]:
    return [
        str(e["content"]["body"])
        for e in events
        if e.get("sender") == bot and (e.get("content") or {}).get("msgtype") == "m.notice"
    ]


def redacted(events: list[dict[str, Any]]) -> set[str]:
    return {
        str(e.get("redacts") or (e.get("content") or {}).get("redacts"))
        for e in events
        if e.get("type") == "m.room.redaction"
    }


async def test_block_report_and_forgetme_across_telegram_matrix_and_memory(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    synapse: SynapseServer,
    tg: BotApiServer,
) -> None:
    bot = await bot_user(synapse)
    async with (
        member(synapse, "lena", display="Lena") as lena,
        member(synapse, "jonas", display="Jonas") as jonas,
    ):
        berlin = await create_room(lena, jonas, invite=(bot,))  # Lena made it: a moderator
        rooms = [
            {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX"},
            {"id": "berlin", "bot": "mx", "chat": berlin, "language": "de", "label": "Berlin"},
            {"id": "nyc", "bot": "mem", "chat": "nyc", "language": "en", "label": "NYC"},
        ]
        bots = [
            sandbox_bot("tg", TOKEN, tg.url),
            matrix_bot(synapse, bot),
            {"id": "mem", "platform": "memory"},
        ]
        loaded = config(tmp_path, redis_url, bots, rooms, pseudonym_key=KEY)
        async with running(loaded):
            await joined(lena, berlin, bot)
            spam = tg.post(CDMX, TROLL, "Spam uno")
            events = await lena.wait_for(berlin, lambda ev: bool(copies_in(ev, bot, "Spam uno")))
            (copy,) = copies_in(events, bot, "Spam uno")

            # Berlin's moderator blocks the sender of that copy
            await lena.say(berlin, "!block", reply_to=copy)
            await lena.wait_for(
                berlin, lambda ev: any(n.startswith("Blockiert") for n in notices_in(ev, bot))
            )
            tg.post(CDMX, TROLL, "Spam dos")
            tg.post(CDMX, ANA, "Hola de Ana")
            await eventually(lambda: "Spam dos" in str(NETWORK.seen_in("nyc")), what="NYC")
            events = await lena.wait_for(
                berlin, lambda ev: bool(copies_in(ev, bot, "Hola de Ana")), 60
            )
            assert not copies_in(events, bot, "Spam dos")
            assert "bloque" not in str(tg.messages(CDMX)).lower()  # the sender is not told

            # a Berlin member reports the copy: CDMX hears of it, in Spanish, on the original
            await jonas.say(berlin, "!report zeigt eine Wohnadresse", reply_to=copy)
            await jonas.wait_for(
                berlin, lambda ev: any(n.startswith("Danke") for n in notices_in(ev, bot))
            )
            await eventually(
                lambda: any("Denuncia desde Berlin" in (m["text"] or "")
                            for m in tg.messages(CDMX)),
                what="the report in CDMX",
            )  # fmt: skip
            (report,) = [m for m in tg.messages(CDMX) if "Denuncia" in (m["text"] or "")]
            assert report["reply_to"] == spam["message_id"]
            assert "zeigt eine Wohnadresse" in report["text"]

            # Ana's forgetme: her three messages leave Berlin, NYC and Redis
            tg.post(CDMX, ANA, "Segundo de Ana")
            posted = tg.post(CDMX, ANA, "Foto de Ana", photo=photo())
            last = MsgRef(room="cdmx", id=str(posted["message_id"]))
            events = await lena.wait_for(
                berlin, lambda ev: bool(copies_in(ev, bot, "Foto de Ana")), 60
            )
            hers = [i for t in ("Hola de Ana", "Segundo de Ana", "Foto de Ana")
                    for i in copies_in(events, bot, t)]  # fmt: skip
            assert len(hers) == 3
            await eventually(lambda: "Foto de Ana" in str(NETWORK.seen_in("nyc")))
            assert [k async for k in redis_client.scan_iter(keys.media("*"))]

            async def mapped() -> bool:  # both copies recorded (a copy still being sent when
                # forgetme runs is not deleted: the same window as retract's)
                return {"berlin", "nyc"} <= set(await MapReader(redis_client).record(last))

            await eventually_async(mapped, what="the photo's copies in the map")
            tg.post(CDMX, ANA, "/forgetme")
            await lena.wait_for(berlin, lambda ev: set(hers) <= redacted(ev), 60)
            await eventually(lambda: "de Ana" not in str(NETWORK.seen_in("nyc")), what="NYC")
            await eventually(lambda: any("Eliminados 3" in (m["text"] or "")
                                         for m in tg.messages(CDMX)))  # fmt: skip
            assert "Spam uno" in str(NETWORK.seen_in("nyc"))  # nobody else's

            left = []
            async for name in redis_client.scan_iter("tl:*"):
                kind = await redis_client.type(name)
                if str(name).startswith(keys.media("")):
                    left.append(str(name))
                elif kind == "hash":
                    values = (await redis_client.hgetall(name)).values()
                    left += [str(name) for v in values if str(v) == f"telegram:{ANA}"]
                elif kind == "string" and "de Ana" in str(await redis_client.get(name)):
                    left.append(str(name))
            assert left == []

    trail = [(e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert ("block", "done") in trail
    assert ("report", "done") in trail
    assert ("forgetme", "done") in trail
