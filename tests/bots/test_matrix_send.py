"""Matrix deliveries: a resend (after a crash, by a restarted bot) makes no second event, and
the homeserver's refusals become the deliverer's RetryLater and PermanentFailure."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis.asyncio
from nio import ErrorResponse, RoomSendError

from bots.matrix.bot import MatrixBot
from bots.matrix.send import check, tx_id
from bridge.model.envelope import Delivery, Envelope, MsgRef
from bridge.model.ports import BotContext, Job, PermanentFailure, RetryLater
from sandbox.synapse import SynapseServer
from tests.bots.test_matrix import bot_user, config, from_bot, matrix_bot
from tests.harness import eventually
from tests.synapse_fixture import PASSWORD, create_room, joined, member


def refusal(status: int | None, errcode: str, retry_after_ms: int | None = None) -> Any:
    body: dict[str, Any] = {"errcode": errcode, "error": "refused"}
    if retry_after_ms is not None:
        body["retry_after_ms"] = retry_after_ms
    response = RoomSendError.from_dict(body, "!r:x")
    response.transport_response = SimpleNamespace(status=status) if status else None
    return response


def test_refusals_become_retries_or_permanent_failures() -> None:
    with pytest.raises(RetryLater) as wait:
        check(refusal(429, "M_LIMIT_EXCEEDED", 1500), "a message")
    assert (wait.value.after, wait.value.backoff) == (1.5, False)  # the server's wait, exactly
    for status in (500, 502, None):
        with pytest.raises(RetryLater) as failed:
            check(refusal(status, "M_UNKNOWN"), "a message")
        assert failed.value.backoff  # not sent: try again, waiting longer each time
    for status, code in ((403, "M_FORBIDDEN"), (404, "M_NOT_FOUND"), (400, "M_TOO_LARGE"),
                         (401, "M_UNKNOWN_TOKEN")):  # fmt: skip
        with pytest.raises(PermanentFailure):
            check(refusal(status, code), "a message")
    check(SimpleNamespace(), "a message")  # not an error: nothing raised
    assert isinstance(refusal(403, "M_FORBIDDEN"), ErrorResponse)


def test_transaction_ids_are_stable_per_delivery_and_part() -> None:
    assert tx_id("mx:mx:$e>wien", 0) == tx_id("mx:mx:$e>wien", 0)
    assert len({tx_id("k", 0), tx_id("k", 1), tx_id("k", "media"), tx_id("k2", 0)}) == 4
    assert len(tx_id("k", 0)) == 32


async def test_a_resend_even_by_a_restarted_bot_makes_no_second_event(
    tmp_path: Path, redis_client: redis.asyncio.Redis, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    async with member(synapse, "ben", display="Ben") as ben:
        wien = await create_room(ben, invite=(bot,))
        room = {"id": "wien", "bot": "mx", "chat": wien, "language": "es", "label": "Wien"}
        other = {**room, "id": "berlin", "chat": "!elsewhere:localhost", "label": "Berlin"}
        bots = [matrix_bot(synapse, bot, sync_timeout_ms=500)]
        loaded = config(tmp_path, "redis://unused", bots, [room, other])
        emitted: list[Envelope] = []

        async def emit(envelope: Envelope) -> None:
            emitted.append(envelope)

        def adapter() -> MatrixBot:
            settings = loaded.config.bots[0]
            rooms = loaded.config.rooms[:1]
            ctx = BotContext(settings, rooms, redis_client, tmp_path / "data", emit)
            return MatrixBot(ctx)

        delivery = Delivery(key="mx:mx:$origin>wien", action="send", bot="mx", room="wien",
                            chat=wien, origin=MsgRef(room="berlin", id="$origin"),
                            attribution="Ana (Berlin)", text="Una sola vez")  # fmt: skip
        first = adapter()
        await first.start()
        try:
            await joined(ben, wien, bot)
            await eventually(lambda: first.client is not None and wien in first.client.rooms)
            ids = await first.deliver(Job(delivery))
            assert await first.deliver(Job(delivery)) == ids  # the deliverer read it twice
        finally:
            await first.stop()
        second = adapter()  # a new process would be the same: same device, same session
        await second.start()
        try:
            assert await second.deliver(Job(delivery)) == ids
        finally:
            await second.close()  # stops it too; once more does nothing
            await second.close()
        await ben.sync(0)
        copies = [c for c in from_bot(ben.events[wien], bot) if "Una sola vez" in c["body"]]
        assert len(copies) == 1
    assert [e.kind for e in emitted] == ["joined"]
    kept = tmp_path / "data" / "matrix" / "mx"
    session = kept / "session.json"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600  # the device's token: ours alone
    assert stat.S_IMODE(kept.stat().st_mode) == 0o700
    assert PASSWORD not in session.read_text()
    assert json.loads(session.read_text())["device_id"]
