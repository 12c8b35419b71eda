"""Hostile review of this round (issue 18), at the adapters: a member floods ``/link`` in a
chat waiting for its link. Each one cost a getChatMember call (from the bot's 30 calls a
second, shared with every delivery), an answer in the chat and an audit entry, without
bound: past a budget per sender in a waiting chat, later ones are ignored."""

from __future__ import annotations

from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import BOT_A, texts
from tests.bots.test_telegram_pending import PORTO, RUI, ZE, World, marker, waiting_notes
from tests.bots.test_telegram_pending import world as world  # the fixture
from tests.harness import eventually

FLOOD = 150
BUDGET = 10  # what one sender may cost in a waiting chat (bridge.model.links.LINK_TRIES)


def calls(tg: BotApiServer, method: str) -> int:
    return sum(1 for c in tg.calls if c.method == method)


async def test_a_flood_of_link_commands_costs_a_bounded_number_of_calls(world: World) -> None:
    tg, bridge = world.tg, world.bridge
    tg.add_member(PORTO, BOT_A, by=RUI)
    await eventually(lambda: bool(waiting_notes(tg, PORTO)))
    for n in range(FLOOD):
        tg.post(PORTO, ZE, f"/link tl-AAAA-{n:02d} pt Porto")
    await marker(world)
    assert len(bridge.requests) <= BUDGET
    assert calls(tg, "getChatMember") <= BUDGET
    said = [c for c in tg.calls if c.method == "sendMessage" and c.chat_id == PORTO]
    assert len(said) <= BUDGET + 1  # the waiting note, then the answers
    # the budget is each sender's: the flood does not keep the owner from linking
    tg.post(PORTO, RUI, "/link tl-AAAA-AA pt Porto")
    await eventually(lambda: "Linked." in texts(tg, PORTO))
    assert bridge.requests[-1].admin
