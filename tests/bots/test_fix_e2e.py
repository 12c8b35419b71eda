"""Members correct a translation and the circle learns it, end to end: a Telegram group in
Spanish on the sandbox Bot API server and a Matrix room in German on a real Synapse.

What the members notice: the German copy of Ana's message is wrong ("Räumung" for
"desahucio" made into "Vertreibung"); Jonas, a Berlin member, replies ``!fix`` with the right
German; Lena, who moderates the Berlin room, accepts it; the copy in Berlin is edited in
place, attributed as before and marked as corrected. When the same Spanish sentence is sent
again, Berlin reads the corrected German, and the translation stand-in counts no call for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.config.load import load_config
from sandbox.libretranslate import LibreTranslateServer
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import one_group
from tests.bots.test_matrix import matrix_bot
from tests.harness import on_clock, running_app
from tests.helpers import sandbox_bot, write_config
from tests.synapse_fixture import PASSWORD, create_room, joined, member, texts, unique

TOKEN = "5000021:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
CDMX = -1001000000021
ANA, BETO = 2021, 2022  # Ana writes; Beto is the group's admin, who shares

SPANISH = "Mañana hay un desahucio en la calle Sol, vengan todas."
WRONG = "Morgen gibt es eine Vertreibung in der Sonnenstraße, kommt alle."
RIGHT = "Morgen ist eine Zwangsräumung in der Calle Sol, kommt alle."


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with one_group(TOKEN, "cdmx_fix_bot", CDMX, ANA, BETO) as server:
        yield server


def edits(events: list[dict[str, Any]], sender: str) -> list[str]:
    """The new texts of the edits ``sender`` made, in order."""
    return [
        e["content"]["m.new_content"]["body"]
        for e in events
        if e.get("sender") == sender
        and (e.get("content") or {}).get("m.relates_to", {}).get("rel_type") == "m.replace"
    ]


async def test_a_berlin_member_fixes_a_wrong_german_copy_and_the_circle_remembers_it(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    synapse: SynapseServer,
    tg: BotApiServer,
) -> None:
    bot = await synapse.register(unique("bridge"), PASSWORD, displayname="Translocal")
    async with (
        LibreTranslateServer() as libre,
        member(synapse, "lena", display="Lena") as lena,
        member(synapse, "jonas", display="Jonas") as jonas,
    ):
        libre.add_phrases({SPANISH: {"es": SPANISH, "de": WRONG}})
        berlin = await create_room(lena, jonas, invite=(bot,))  # Lena made it: she moderates
        cfg: dict[str, Any] = {
            "data_dir": str(tmp_path / "data"),
            "redis": {"url": redis_url, "shards": 4},
            "bots": [
                sandbox_bot("tg", TOKEN, tg.url),
                matrix_bot(synapse, bot),
            ],
            "rooms": [
                {"id": "cdmx", "bot": "tg", "chat": CDMX, "language": "es", "label": "CDMX"},
                {"id": "berlin", "bot": "mx", "chat": berlin, "language": "de",
                 "label": "Berlin"},
            ],
            "circles": [{"id": "housing", "rooms": ["cdmx", "berlin"]}],  # moderated
            "translation": {"providers": [{"name": "libretranslate", "url": libre.url}]},
        }  # fmt: skip
        loaded = load_config(write_config(tmp_path / "fix.yaml", cfg), env={})

        def said(events: list[dict[str, Any]], words: str) -> list[str]:
            return [c["body"] for c in texts(events, sender=bot) if words in c["body"]]

        async with running_app(on_clock(loaded)):
            await joined(lena, berlin, bot)
            first = tg.post(CDMX, ANA, SPANISH)
            tg.post(CDMX, BETO, "/share", reply_to=first["message_id"])
            events = await jonas.wait_for(berlin, lambda ev: bool(said(ev, "Vertreibung")))
            (wrong_copy,) = [e for e in events if WRONG in str(e.get("content", {}).get("body"))]

            # Jonas proposes; he is no moderator, so it waits for Lena
            await jonas.say(berlin, f"!fix {RIGHT}", reply_to=wrong_copy["event_id"])
            events = await lena.wait_for(berlin, lambda ev: bool(said(ev, "vorgeschlagen")))
            (proposed,) = said(events, "vorgeschlagen")
            # Jonas cannot accept his own proposal
            await jonas.say(berlin, "!fix accept", reply_to=wrong_copy["event_id"])
            events = await lena.wait_for(berlin, lambda ev: bool(said(ev, "Nur die Moderation")))
            assert edits(events, bot) == []
            # Lena accepts: the copy is edited in place
            await lena.say(berlin, "!fix accept", reply_to=wrong_copy["event_id"])
            events = await lena.wait_for(berlin, lambda ev: bool(edits(ev, bot)))
            (edited,) = edits(events, bot)
            await lena.wait_for(berlin, lambda ev: bool(said(ev, "Korrigiert.")))

            calls = libre.calls
            tg.post(CDMX, ANA, SPANISH)  # the same sentence again, as a new message
            tg.post(CDMX, BETO, "/share", reply_to=tg.messages(CDMX)[-1]["message_id"])
            events = await lena.wait_for(berlin, lambda ev: len(said(ev, "Zwangsräumung")) >= 1)
            (again,) = said(events, "Zwangsräumung")
            calls_after = libre.calls

    assert "Korrektur #" in proposed
    assert "!fix accept" in proposed
    assert edited.startswith("Ana (CDMX)")  # attributed as the copy was
    assert RIGHT in edited
    assert WRONG not in edited
    assert "✎ korrigiert von einem Mitglied aus Berlin" in edited
    assert edited.endswith("· aus dem Spanischen übersetzt")
    assert RIGHT in again
    assert WRONG not in again
    assert again.startswith("Ana (CDMX)")
    assert calls_after == calls  # the memory answered: no provider call for the same sentence
