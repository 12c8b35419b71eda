"""A retract is not stuck behind a flood: in each chat's queue, deletes and edits go ahead
of new sends (but never ahead of the send of their own message)."""

from __future__ import annotations

from pathlib import Path

from redis.asyncio import Redis

from tests.harness import eventually, memory_config, running
from tests.memory_bot import RetryLater

LOTS = {"per_sender_per_minute": 1000, "per_room_per_minute": 1000}


async def test_a_delete_issued_behind_100_queued_sends_reaches_the_chat_before_them(
    tmp_path: Path, redis_url: str, redis_client: Redis
) -> None:
    async with running(memory_config(tmp_path, redis_url, limits=LOTS)) as (_, net):
        a, berlin = net.bot("a"), net.bot("b")
        address = await a.post("a1", "mi dirección es Calle Falsa 123")
        await eventually(lambda: len(net.sends_to("b1")) == 1, what="the first copy")
        berlin.faults.append(RetryLater(2.0, "Telegram: 20 a minute in this group"))
        for i in range(100):
            await a.post("a1", f"flood {i}", who="troll", name="Troll")
        await a.delete("a1", address)  # the author takes it back
        await eventually(lambda: len(net.sends_to("b1")) == 101, what="every send")
        await eventually(
            lambda: any(d.chat == "b1" and d.action == "delete" for d in net.log), what="delete"
        )
        order = [d.action for d in net.log if d.chat == "b1"]
    sends_before = order.index("delete") - 1  # the first copy came before it all
    assert sends_before <= 5, f"the delete waited behind {sends_before} sends"
    assert not [m for m in net.seen_in("b1") if "Calle Falsa" in m.text]


async def test_an_edit_never_overtakes_the_send_of_its_own_message(
    tmp_path: Path, redis_url: str, redis_client: Redis
) -> None:
    async with running(memory_config(tmp_path, redis_url, limits=LOTS)) as (_, net):
        a, berlin = net.bot("a"), net.bot("b")
        await a.post("a1", "hola")
        await eventually(lambda: len(net.sends_to("b1")) == 1, what="the first copy")
        berlin.faults.append(RetryLater(1.0, "wait"))
        for i in range(20):
            await a.post("a1", f"flood {i}", who="troll", name="Troll")
        late = await a.post("a1", "la marcha es el jueves")
        await a.edit("a1", late, "la marcha es el viernes")
        await eventually(lambda: len(net.sends_to("b1")) == 22, what="every send")
        await eventually(
            lambda: any(d.chat == "b1" and d.action == "edit" for d in net.log), what="edit"
        )
        shown = [m.text for m in net.seen_in("b1") if "marcha" in m.text]
    assert len(shown) == 1
    assert "viernes" in shown[0]
