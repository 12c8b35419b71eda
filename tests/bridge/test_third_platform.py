"""A third platform, registered from tests/ alone: the in-memory one, with its own person ids
(``memory:<word>``), its own command prefix (``+``) and its own call-out text limit. Config,
moderation and call-outs work through it with nothing about it written under bridge/.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bridge.app import App
from bridge.callouts.clock import ManualClock
from bridge.model.errors import ConfigError
from tests.harness import eventually, memory_config, running_app
from tests.memory_bot import NETWORK, PREFIX, TEXT_LIMIT


def answers(chat: str) -> list[str]:
    return [m.text for m in NETWORK.seen_in(chat) if m.notice]


def test_person_ids_are_checked_by_their_own_platform(tmp_path: Path, redis_url: str) -> None:
    memory_config(tmp_path, redis_url, moderators=["memory:mod"], organizers=["memory:org"])
    with pytest.raises(ConfigError) as refused:
        memory_config(tmp_path, redis_url, moderators=["memory:two words", "fax:12", "telegram:x"])
    lines = str(refused.value).splitlines()
    assert any(
        line.startswith("moderators[0]") and "an in-memory member is one word" in line
        for line in lines
    )
    # a scheme no platform has: the error lists the shapes of the platforms it knows
    assert any(line.startswith("moderators[1]") and "'memory:<word>'" in line for line in lines)
    # a real platform's adapter is loaded by name to check its own ids
    assert any(line.startswith("moderators[2]") and "is a number" in line for line in lines)


async def test_moderation_speaks_the_platforms_prefix_and_knows_its_moderators(
    tmp_path: Path, redis_url: str
) -> None:
    loaded = memory_config(tmp_path, redis_url, relay="moderated", moderators=["memory:mod"])
    async with running_app(App(loaded, lease_ms=1000)):
        cdmx = NETWORK.bot("a")
        root = await cdmx.post("a1", "Asamblea el jueves", name="Ana")
        await cdmx.command("a1", "help")
        await eventually(lambda: any(a.startswith("Comandos de Translocal") for a in answers("a1")))
        help_text = next(a for a in answers("a1") if a.startswith("Comandos de Translocal"))
        assert f"{PREFIX}share" in help_text
        assert "/share" not in help_text
        # a moderator by the config's memory: id, not an admin of the chat
        await cdmx.command("a1", "share", reply_to=root, who="mod")
        await eventually(lambda: len(NETWORK.seen_in("b1")) == 1, what="the shared thread")
        assert NETWORK.seen_in("b1")[0].text.startswith("Ana (CDMX)")
        await cdmx.command("a1", "optout")
        await eventually(lambda: any(f"{PREFIX}optin lo deshace" in a for a in answers("a1")))


async def test_call_outs_go_through_it_within_its_own_text_limit(
    tmp_path: Path, redis_url: str
) -> None:
    now = datetime(2030, 5, 1, 10, tzinfo=UTC)
    loaded = memory_config(tmp_path, redis_url, organizers=["memory:org"])
    app = App(loaded, lease_ms=1000)
    clock = ManualClock(now)
    app.callout_clock = clock
    async with running_app(app):
        berlin = NETWORK.bot("b")
        too_long = "x" * (TEXT_LIMIT.size + 1)
        await berlin.command("b1", "callout", f"add 2030-05-01 18:00 net | {too_long}", who="org")
        await eventually(lambda: any(TEXT_LIMIT.unit in a for a in answers("b1")), what="refusal")
        await berlin.command(
            "b1", "callout", "add 2030-05-01 18:00 instant net | Kundgebung", who="org"
        )
        await eventually(lambda: len(answers("b1")) == 2, what="the call-out's confirmation")
        assert TEXT_LIMIT.unit not in answers("b1")[1]
        clock.advance(timedelta(hours=8))  # 18:00 in Berlin (UTC here), where it was written
        await eventually(
            lambda: all(
                any("Kundgebung" in m.text for m in NETWORK.seen_in(chat) if m.id)
                for chat in ("a1", "b1", "c1")
            ),
            what="the call-out in every room",
        )
