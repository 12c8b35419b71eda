"""Before a bot downloads a file, it asks whether the message could cross at all."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio

from bridge.moderation.policy import CarryCheck
from bridge.moderation.state import ModerationState
from tests.harness import ROOMS, eventually_async, memory_config


async def test_a_file_is_fetched_only_where_its_message_may_cross(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    rooms = [*ROOMS, {"id": "quiet", "bot": "a", "chat": "a2", "language": "es", "label": "Q"}]
    rooms[2] = {**rooms[2], "send": False}  # NYC only listens
    loaded = memory_config(
        tmp_path,
        redis_url,
        rooms=rooms,
        circles=[{"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": "moderated"}],
    )
    may = CarryCheck(loaded.config, redis_client)
    ana, ben = "memory:ana", "memory:ben"

    assert await may("a", "a1", ana)  # moderated: a share may still carry it later
    assert await may("b", "b1", ana)
    assert not await may("c", "c1", ana)  # a room that sends nothing
    assert not await may("a", "a2", ana)  # a room in no circle
    assert not await may("a", "zz", ana)  # a chat the bot was never given
    assert not await may("b", "a1", ana)  # another bot's chat

    state = ModerationState(redis_client, 3600)
    await state.opt_out(ana, True)
    await state.pause("berlin", True)

    async def ana_refused() -> bool:  # the mirror looks again within MIRROR_CHECK_S
        return not await may("a", "a1", ana)

    await eventually_async(ana_refused)  # Ana opted out
    assert await may("a", "a1", ben)
    assert not await may("b", "b1", ben)  # Berlin is paused
