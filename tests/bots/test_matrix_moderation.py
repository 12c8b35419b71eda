"""Moderation through the real Matrix adapter on Synapse: power level 50+ moderates, a plain
member is refused, the share reaction works, an author retracts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis.asyncio

from bridge.moderation.audit import Audit
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.test_matrix import CDMX, TOKEN, bot_user, config, matrix_bot, tg_copies
from tests.bots.test_matrix import tg as tg
from tests.harness import eventually, running
from tests.helpers import BODY_CANARY, sandbox_bot
from tests.synapse_fixture import create_room, joined, member


def notices(events: list[dict[str, Any]], bot: str) -> list[str]:
    """The bot's notices (its answers) among a room's events."""
    found = []
    for event in events:
        content = event.get("content") or {}
        if event.get("sender") == bot and content.get("msgtype") == "m.notice":
            found.append(str(content["body"]))
    return found


async def test_power_level_moderators_share_members_are_refused_authors_retract(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str,
    synapse: SynapseServer, tg: BotApiServer,
) -> None:  # fmt: skip
    bot = await bot_user(synapse)
    async with member(synapse, "ana", display="Ana") as ana, \
               member(synapse, "ben", display="Ben") as ben:  # fmt: skip
        berlin = await create_room(ana, ben, invite=(bot,))  # Ana made it: power level 100
        rooms = [
            {"id": "berlin", "bot": "mx", "chat": berlin, "language": "es", "label": "Berlin"},
            {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX"},
        ]
        bots = [matrix_bot(synapse, bot), sandbox_bot("tg", TOKEN, tg.url, limits_scale=0.01)]
        circles = [{"id": "net", "rooms": ["berlin", "cdmx"], "relay": "moderated"}]
        async with running(config(tmp_path, redis_url, bots, rooms, circles=circles)):
            await joined(ana, berlin, bot)
            root = await ben.say(berlin, f"Reunión el viernes {BODY_CANARY}")

            # Ben has power level 0: his !share is refused and nothing crosses
            await ben.say(berlin, "!share", reply_to=root)
            await ben.wait_for(berlin, lambda ev: any(
                n.startswith("Solo quienes moderan") for n in notices(ev, bot)))  # fmt: skip
            assert tg_copies(tg, CDMX) == []

            # Ana moderates (power level 100): the thread crosses
            await ana.say(berlin, "!share", reply_to=root)
            events = await ana.wait_for(berlin, lambda ev: len(notices(ev, bot)) >= 3, 60)
            assert notices(events, bot)[-1].startswith("Compartido con CDMX"), notices(events, bot)
            await eventually(lambda: any("Reunión el viernes" in (m["text"] or "")
                                         for m in tg_copies(tg, CDMX)), timeout=60)  # fmt: skip

            # the share reaction, from a moderator, shares another thread
            second = await ben.say(berlin, "Llevamos pancartas")
            await ana.send(berlin, {"m.relates_to": {"rel_type": "m.annotation",
                                                     "event_id": second, "key": "🕊️"}},
                           kind="m.reaction")  # fmt: skip
            await eventually(lambda: any("pancartas" in (m["text"] or "")
                                         for m in tg_copies(tg, CDMX)))  # fmt: skip

            # Ben retracts his own message: its copy in CDMX goes
            await ben.say(berlin, "!retract", reply_to=root)
            await eventually(lambda: not any("Reunión" in (m["text"] or "")
                                             for m in tg_copies(tg, CDMX)))  # fmt: skip

    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert (f"matrix:{ben.user_id}", "share", "refused") in trail
    assert (f"matrix:{ana.user_id}", "share", "done") in trail
    assert (f"matrix:{ben.user_id}", "retract", "done") in trail
