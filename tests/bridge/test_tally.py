"""The one tally under RSVP answers and reaction counts (bridge.infra.tally), on real Redis:
keys written before reactions and RSVP shared it keep counting right; concurrent moves lose
nothing; a conditional withdrawal takes back only the answer it names; an edit is claimed by
one process at most once a minute, from a due set or a due sorted set.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import redis.asyncio

from bridge.callouts import rsvp
from bridge.infra import tally
from bridge.model import keys
from bridge.model.envelope import MsgRef
from bridge.relay import reactions

OCC = "2030-05-01T18:00Z"


def old_marker(salt: str, who: str) -> str:
    """The marker as rsvp.vote and reactions.marker made it before they shared one."""
    return hmac.new(salt.encode(), who.encode(), hashlib.sha256).hexdigest()[:32]


async def test_answers_stored_before_the_merge_move_on_as_before(
    redis_client: redis.asyncio.Redis,
) -> None:
    await redis_client.set(keys.rsvp_salt("blockade", OCC), "salt1")
    mark = f"cdmx|{old_marker('salt1', 'memory:ana')}"
    await redis_client.hset(keys.rsvp_marks("blockade", OCC), mark, "yes")
    await redis_client.hset(keys.rsvp_counts("blockade", OCC), "cdmx|yes", 1)
    await redis_client.sadd(keys.RSVP_DUE, "other|x")  # a set, as it was
    assert await rsvp.vote(redis_client, "blockade", OCC, "cdmx", "memory:ana", "no") == mark
    assert await rsvp.counts(redis_client, "blockade", OCC) == {"cdmx|yes": 0, "cdmx|no": 1}
    assert await redis_client.smembers(keys.RSVP_DUE) == {"other|x", f"blockade|{OCC}"}

    origin = MsgRef(room="cdmx", id="7")
    await redis_client.set(keys.reaction_salt(origin), "salt2")
    old = old_marker("salt2", "berlin|memory:jonas")
    assert await reactions.marker(redis_client, origin, "berlin", "memory:jonas", 60) == old
    await redis_client.hset(keys.reaction_marks(origin), old, "✊")
    await redis_client.hset(keys.reaction_counts(origin), "✊", 1)
    assert await reactions.move(redis_client, origin, old, "❤️", 60)
    assert await reactions.counts(redis_client, origin) == {"❤️": 1}
    assert await redis_client.zscore(keys.REACTIONS_DUE, str(origin)) == 0  # a sorted set


async def test_two_workers_moving_at_once_lose_nothing(
    redis_client: redis.asyncio.Redis,
) -> None:
    where = tally.Tally(counts="t:c", marks="t:m", due="t:due", member="x", ttl=60, prefix="r|")

    async def member(n: int) -> None:
        await tally.move(redis_client, where, f"m{n}", "yes\tr")
        await tally.move(redis_client, where, f"m{n}", "yes\tr")  # run twice: nothing more
        if n % 3 == 0:
            await tally.move(redis_client, where, f"m{n}", "maybe")

    async def worker(first: int) -> None:
        for n in range(first, 300, 2):
            await member(n)

    await asyncio.gather(worker(0), worker(1))
    found = await redis_client.hgetall("t:c")
    assert found == {"r|yes": "200", "r|maybe": "100"}


async def test_a_conditional_withdrawal_takes_back_only_the_answer_it_names(
    redis_client: redis.asyncio.Redis,
) -> None:
    where = tally.Tally(counts="t:c", marks="t:m", due="t:due", member="x", ttl=60)
    await tally.move(redis_client, where, "eva", "yes\tr")
    await tally.move(redis_client, where, "eva", "maybe\tr")
    assert not await tally.move(redis_client, where, "eva", "", only_from=("yes\tr",))
    await tally.move(redis_client, where, "lena", "no")  # not by reaction
    assert not await tally.move(redis_client, where, "lena", "", only_from=("yes\tr", "maybe\tr"))
    assert await redis_client.hgetall("t:c") == {"yes": "0", "maybe": "1", "no": "1"}
    assert await tally.move(redis_client, where, "eva", "", only_from=("yes\tr", "maybe\tr"))
    assert await redis_client.hget("t:c", "maybe") == "0"


async def test_an_edit_is_claimed_once_a_minute_by_one_process(
    redis_client: redis.asyncio.Redis,
) -> None:
    for ordered in (False, True):
        due = f"t:due:{ordered}"
        where = tally.Tally(counts=f"t:c:{ordered}", marks="t:m", due=due, member="x", ttl=60,
                            ordered=ordered)  # fmt: skip
        await tally.move(redis_client, where, "ana", "yes")
        won = await asyncio.gather(
            *(tally.claim(redis_client, where, 1000.0, 60) for _ in range(5))
        )
        assert sum(won) == 1
        await tally.move(redis_client, where, "ana", "no")  # due again, 30 s later: too early
        assert not await tally.claim(redis_client, where, 1030.0, 60)
        if ordered:  # the sorted set notes when it may go
            assert await redis_client.zscore(due, "x") == 1060
        else:
            assert await redis_client.sismember(due, "x")
        assert await tally.claim(redis_client, where, 1060.0, 60)
