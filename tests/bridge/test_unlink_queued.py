"""A room that unlinks gets nothing more from the network, even what was already queued for it.

A city may leave because its chat was compromised, or because it was abusive: the copies
the relay had already put in its bot's outbox (waiting behind a slow send, a rate limit, a
Redis restart) must not reach it afterwards. A delete still does (a retract reaches the
copies made there while it was linked), and so do the bridge's own answers (the unlink's).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio

from bridge.config.linked import is_linked
from bridge.model import keys
from bridge.model.ports import RetryLater
from sandbox.libretranslate import LibreTranslateServer
from tests.bridge.test_links import bridge, config, invite, link
from tests.bridge.test_moderation import answers, copies
from tests.harness import eventually, eventually_async
from tests.memory_bot import NETWORK


async def test_copies_queued_for_a_room_when_it_unlinks_never_reach_it(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    async with bridge(config(tmp_path, redis_url, libre)) as app:
        net = NETWORK
        assert (await link(net, f"{await invite(net)} pt Porto")).room is not None
        said = await net.bot("b").post("b1", "Treffen bei Marta", who="ute", name="Ute")
        await eventually(lambda: bool(copies("a9", "Marta")), what="a copy in Porto")

        held = net.bot("a").held = asyncio.Event()  # bot a's sends wait: Porto's and CDMX's
        await net.bot("b").post("b1", "Erste Nachricht", who="ute", name="Ute")
        await net.bot("b").post("b1", "Zweite Nachricht", who="ute", name="Ute")

        async def queued() -> bool:  # both planned: two copies each for CDMX and Porto
            return int(await redis_client.xlen(keys.outbox("a"))) >= 4

        await eventually_async(queued, what="the copies in bot a's outbox")
        await net.bot("a").command("a9", "unlink", who="rui", admin=True)
        await eventually(lambda: not is_linked(app.config, "porto"), what="unlinked")
        held.set()

        await eventually(lambda: bool(copies("a1", "Zweite Nachricht")), what="CDMX's copy")
        await eventually(lambda: any("Esta sala saiu de housing" in a for a in answers("a9")),
                         what="the unlink's answer in Porto")  # fmt: skip
        # the answer was queued after the second copy in Porto's chat, which goes in order:
        # the first was in the platform's hands when the room left; the second was not
        assert not copies("a9", "Zweite Nachricht")
        # a retract still reaches the copy made while Porto was linked
        await net.bot("b").command("b1", "retract", reply_to=said, who="ute")
        await eventually(lambda: not copies("a9", "Marta"), what="Porto's copy deleted")


async def test_a_copy_waiting_out_a_rate_limit_when_its_room_unlinks_never_reaches_it(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, libre: LibreTranslateServer
) -> None:
    async with bridge(config(tmp_path, redis_url, libre)) as app:
        net = NETWORK
        assert (await link(net, f"{await invite(net)} pt Porto")).room is not None
        # Telegram says 429 to bot a's next two sends (CDMX's copy and Porto's): wait 2 s
        net.bot("a").faults = [RetryLater(2.0, "429"), RetryLater(2.0, "429")]
        await net.bot("b").post("b1", "Nach der Pause", who="ute", name="Ute")
        await eventually(lambda: not net.bot("a").faults, what="both copies refused once")
        await net.bot("a").command("a9", "unlink", who="rui", admin=True)
        await eventually(lambda: not is_linked(app.config, "porto"), what="unlinked")
        await eventually(lambda: bool(copies("a1", "Nach der Pause")), what="CDMX's copy")
        # the answer waited behind the copy in Porto's chat queue: the copy was handled first
        await eventually(lambda: any("Esta sala saiu de housing" in a for a in answers("a9")),
                         what="the unlink's answer in Porto")  # fmt: skip
        assert not copies("a9", "Nach der Pause")
