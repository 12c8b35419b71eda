"""``fix``: members correct a copy's translation, moderators accept, the circle learns, through
the real relay and Redis with in-memory bots and the sandbox LibreTranslate (which counts its
calls). Hostile cases first: what a member, another room's moderator or a forged reply tries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.config.load import LoadedConfig
from bridge.model import keys
from bridge.moderation.audit import Audit
from sandbox.libretranslate import LibreTranslateServer
from tests.bridge.test_moderation import answers, copies, settled
from tests.harness import committed, eventually, memory_config, running
from tests.memory_bot import NETWORK

SPANISH = "Mañana hay un desahucio en la calle Sol."
WRONG = "Morgen gibt es eine Vertreibung in der Sonnenstraße."
RIGHT = "Morgen ist eine Zwangsräumung in der Calle Sol."


@pytest.fixture
async def libre() -> AsyncIterator[LibreTranslateServer]:
    async with LibreTranslateServer() as server:
        server.add_phrases({SPANISH: {"es": SPANISH, "de": WRONG, "en": "Eviction tomorrow."}})
        yield server


def config(tmp_path: Path, redis_url: str, libre: LibreTranslateServer, **circle: Any) -> Any:
    net = {"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": "all", **circle}
    return memory_config(
        tmp_path, redis_url, circles=[net],
        translation={"providers": [{"name": "libretranslate", "url": libre.url}]},
    )  # fmt: skip


def edits_in(chat: str) -> list[str]:
    return [d.text for d in NETWORK.log if d.chat == chat and d.action == "edit"]


async def wrong_copy(net: Any) -> str:
    await net.bot("a").post("a1", SPANISH, name="Ana")
    await eventually(lambda: len(copies("b1", WRONG)) == 1, what="the wrong German copy")
    await committed(net)
    return copies("b1", WRONG)[0].id


async def test_a_fix_that_is_not_on_a_copy_of_this_room_or_too_long_is_refused_and_changes_nothing(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, libre: LibreTranslateServer
) -> None:
    loaded: LoadedConfig = config(tmp_path, redis_url, libre)
    async with running(loaded) as (_, net):
        berlin = net.bot("b")
        copy = await wrong_copy(net)
        own = await berlin.post("b1", "Wir kommen alle", who="jonas", name="Jonas")
        await settled(net, "b1")
        notice = [m for m in NETWORK.seen_in("b1") if m.notice][-1].id
        # a forged map record: a call-out's copy (its origin is in this room, as the
        # scheduler records it)
        await redis_client.set(keys.copy("berlin", "9999"), "berlin/callout:abc:2030")

        await berlin.command("b1", "fix", RIGHT, who="jonas")  # no reply
        await berlin.command("b1", "fix", RIGHT, reply_to=own, who="jonas")  # Berlin's own
        await berlin.command("b1", "fix", RIGHT, reply_to=notice, who="jonas")  # a notice
        await berlin.command("b1", "fix", RIGHT, reply_to="9999", who="jonas")  # a call-out
        await berlin.command("b1", "fix", RIGHT, reply_to="424242", who="jonas")  # not here
        await berlin.command("b1", "fix", "x" * (10 * len(WRONG) + 1), reply_to=copy, who="jonas")
        await eventually(lambda: sum("nichts geändert" in a for a in answers("b1")) == 5)
        await eventually(lambda: any("Antworte auf eine Kopie" in a for a in answers("b1")))
        await settled(net, "b1")

    said = answers("b1")
    assert sum("korrigiert Kopien von Nachrichten" in a for a in said) == 4
    assert sum("mehr als zehnmal so lang" in a for a in said) == 1
    assert edits_in("b1") == []
    assert copies("b1", WRONG)[0].text.count(WRONG) == 1  # the copy as it was
    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert trail.count(("memory:jonas", "fix", "refused")) == 6
    assert not await redis_client.keys(f"{keys.TRANSLATION_MEMORY}seg:*")


async def test_only_a_moderator_of_this_room_accepts_and_then_the_memory_answers_with_no_call(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, libre: LibreTranslateServer
) -> None:
    async with running(config(tmp_path, redis_url, libre)) as (_, net):
        berlin, nyc = net.bot("b"), net.bot("c")
        copy = await wrong_copy(net)
        await berlin.command("b1", "fix", RIGHT, reply_to=copy, who="jonas")
        await eventually(lambda: any("vorgeschlagen" in a for a in answers("b1")))
        (proposed,) = [a for a in answers("b1") if "vorgeschlagen" in a]
        pid = proposed.split("#")[1].split(" ")[0].rstrip(".")
        await berlin.command("b1", "fix", "accept", reply_to=copy, who="lena")  # a member
        await nyc.command("c1", "fix", f"accept {pid}", who="kai", admin=True)  # NYC's mod
        await eventually(lambda: any("Nur die Moderation" in a for a in answers("b1")))
        await eventually(lambda: any("No correction is waiting" in a for a in answers("c1")))
        await settled(net, "b1")
        assert edits_in("b1") == []

        await berlin.command("b1", "fix", "accept", reply_to=copy, who="mod", admin=True)
        await eventually(lambda: len(edits_in("b1")) == 1, what="the copy edited in place")
        calls = libre.calls
        await net.bot("a").post("a1", "  Mañana hay un desahucio   en la calle Sol. ", name="Ana")
        await eventually(lambda: len(copies("b1", RIGHT)) == 2, what="the corrected sentence")
        await eventually(lambda: len(copies("c1", "desahucio")) == 1, what="English, asked")
        after = libre.calls

    (edited,) = edits_in("b1")
    # the corrected copy keeps its attribution, also in an ``all`` circle (no recent buffer)
    assert edited.startswith("Ana (CDMX): ")
    assert RIGHT in edited
    assert WRONG not in edited
    assert "✎ korrigiert von einem Mitglied aus Berlin" in edited
    assert after - calls == 1  # English still asked the provider; German came from memory
    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert ("memory:lena", "fix", "refused") in trail
    assert ("memory:kai", "fix", "refused") in trail
    assert ("memory:mod", "fix", "accepted") in trail


async def test_in_an_open_circle_a_fix_applies_at_once_and_a_retract_forgets_it(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, libre: LibreTranslateServer
) -> None:
    async with running(config(tmp_path, redis_url, libre, fixes="open")) as (_, net):
        berlin, cdmx = net.bot("b"), net.bot("a")
        copy = await wrong_copy(net)
        origin = next(m for m in NETWORK.seen_in("a1") if m.text == SPANISH).id
        await berlin.command("b1", "fix", RIGHT, reply_to=copy, who="jonas")
        await eventually(lambda: len(edits_in("b1")) == 1, what="applied at once")
        assert await redis_client.keys(f"{keys.TRANSLATION_MEMORY}seg:net:de:*")
        await cdmx.command("a1", "retract", reply_to=origin, who="ana")
        await eventually(lambda: any(a.startswith("Retirado") for a in answers("a1")))
        assert not await redis_client.keys(f"{keys.TRANSLATION_MEMORY}seg:*")
        assert not await redis_client.keys(f"{keys.TRANSLATION_MEMORY}src:*")
        await cdmx.post("a1", SPANISH, name="Ana")
        await eventually(lambda: len(copies("b1", WRONG)) >= 1, what="the provider again")


async def test_a_moderators_term_is_forced_and_a_members_is_refused(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, libre: LibreTranslateServer
) -> None:
    async with running(config(tmp_path, redis_url, libre)) as (_, net):
        berlin = net.bot("b")
        await berlin.command("b1", "fix", "term calle Sol = Sonnenallee", who="jonas")
        await eventually(lambda: any("Nur die Moderation" in a for a in answers("b1")))
        await berlin.command("b1", "fix", "term calle Sol =", who="mod", admin=True)
        await eventually(lambda: any("Gib den Begriff" in a for a in answers("b1")))
        await berlin.command("b1", "fix", "term calle Sol = Calle Sol", who="mod", admin=True)
        await eventually(lambda: any("wird calle Sol jetzt" in a for a in answers("b1")))
        await net.bot("a").post("a1", "Nos vemos en la calle Sol", name="Ana")
        await eventually(lambda: len(copies("b1", "Nos vemos")) == 1)
    (copy,) = copies("b1", "Nos vemos")
    assert "Calle Sol" in copy.text
    assert "calle Sol" not in copy.text
    assert [text for _, target, text in libre.log if target == "de"] == ["Nos vemos en la ⟦0⟧"]
