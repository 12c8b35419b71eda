"""Hostile cases through the real Matrix adapter on Synapse (issue 17): a member's edit of
someone else's message, a moderator's redaction, a file on a media server that cannot be
reached, and an emote in an anonymous circle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis.asyncio
import yaml

from bridge.moderation.audit import Audit
from sandbox.synapse import SynapseServer
from tests.bots.test_matrix import _edit_of, _redacts, bot_user, config, from_bot, matrix_bot
from tests.harness import running
from tests.synapse_fixture import create_room, joined, member


class FederatingSynapse(SynapseServer):
    """A Synapse of this test's own that may fetch remote media (the shared one may not, and
    answers 403): for an mxc:// on a server whose name does not resolve it answers 502, as a
    homeserver in the wild does."""

    def _write_files(self) -> None:
        super()._write_files()
        config = yaml.safe_load(self.config_path.read_text())
        config.pop("federation_domain_whitelist", None)
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def two_rooms(berlin: str, wien: str) -> list[dict[str, Any]]:
    return [
        {"id": "berlin", "bot": "mx", "chat": berlin, "language": "es", "label": "Berlin"},
        {"id": "wien", "bot": "mx", "chat": wien, "language": "es", "label": "Wien"},
    ]


def event_of(events: list[dict[str, Any]], content: dict[str, Any]) -> str:
    return str(next(e["event_id"] for e in events if e.get("content") is content))


async def test_an_edit_of_anothers_message_changes_no_copy_a_moderators_redaction_retracts(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:  # fmt: skip
    bot = await bot_user(synapse)
    async with member(synapse, "ana", display="Ana") as ana, \
               member(synapse, "ben", display="Ben") as ben, \
               member(synapse, "cleo", display="Cleo") as cleo:  # fmt: skip
        berlin = await create_room(ana, ben, invite=(bot,))  # Ana made it: power level 100
        wien = await create_room(cleo, invite=(bot,))
        bots = [matrix_bot(synapse, bot)]
        async with running(config(tmp_path, redis_url, bots, two_rooms(berlin, wien))):
            await joined(ana, berlin, bot)
            await joined(cleo, wien, bot)
            original = await ana.say(berlin, "Asamblea el jueves")
            events = await cleo.wait_for(wien, lambda ev: len(from_bot(ev, bot)) == 1)
            copy_id = event_of(events, from_bot(events, bot)[0])

            # Ben edits Ana's message: Synapse takes it, Ana's client ignores it
            await ben.edit(berlin, original, "Asamblea cancelada, no vengan")
            # then Ana fixes her own: only hers reaches Wien, still attributed to her
            await ana.edit(berlin, original, "Asamblea el jueves a las 7")
            await cleo.wait_for(wien, lambda ev: any(_edit_of(e, copy_id) for e in ev))
            bens = await ben.say(berlin, "Punto de encuentro: la plaza")
            events = await cleo.wait_for(wien, lambda ev: len(from_bot(ev, bot)) == 2)
            edits = [e for e in events if _edit_of(e, copy_id)]
            assert len(edits) == 1
            assert edits[0]["content"]["m.new_content"]["body"] == (
                "Ana (Berlin)\nAsamblea el jueves a las 7"
            )
            assert "cancelada" not in str(events)

            # Ana moderates: her redaction of Ben's message retracts it everywhere
            plaza = event_of(events, from_bot(events, bot)[1])
            await ana.redact(berlin, bens)
            await cleo.wait_for(wien, lambda ev: any(_redacts(e) == plaza for e in ev))
    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert (f"matrix:{ana.user_id}", "retract", "done") in trail


async def test_a_file_on_an_unreachable_media_server_crosses_as_a_note_and_stalls_nothing(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    async with FederatingSynapse(tmp_path / "synapse") as synapse, \
               member(synapse, "ana", display="Ana") as ana, \
               member(synapse, "cleo", display="Cleo") as cleo:  # fmt: skip
        bot = await bot_user(synapse)
        berlin = await create_room(ana, invite=(bot,))
        wien = await create_room(cleo, invite=(bot,))
        bots = [matrix_bot(synapse, bot, file_retry_s=3)]
        async with running(config(tmp_path, redis_url, bots, two_rooms(berlin, wien))):
            await joined(ana, berlin, bot)
            await joined(cleo, wien, bot)
            # Synapse answers 502 for media on a server whose name does not resolve
            await ana.send(berlin, {"msgtype": "m.image", "body": "plano.png",
                                    "url": "mxc://nowhere.invalid/abcdef",
                                    "info": {"mimetype": "image/png", "size": 1234}})  # fmt: skip
            await ana.say(berlin, "Y después del plano, esto")
            events = await cleo.wait_for(wien, lambda ev: len(from_bot(ev, bot)) == 2, 90)
    first, second = (c["body"] for c in from_bot(events, bot))
    assert first.startswith("Ana (Berlin)")
    assert "no se pudo transmitir el archivo" in first  # in the room's language
    assert second == "Ana (Berlin)\nY después del plano, esto"


async def test_an_emote_in_an_anonymous_circle_names_no_one(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    async with member(synapse, "ana", display="Ana Torres") as ana, \
               member(synapse, "cleo", display="Cleo") as cleo:  # fmt: skip
        berlin = await create_room(ana, invite=(bot,))
        wien = await create_room(cleo, invite=(bot,))
        circles = [{"id": "net", "rooms": ["berlin", "wien"], "relay": "all", "anonymous": True}]
        bots = [matrix_bot(synapse, bot)]
        cfg = config(tmp_path, redis_url, bots, two_rooms(berlin, wien), circles=circles)
        async with running(cfg):
            await joined(ana, berlin, bot)
            await joined(cleo, wien, bot)
            await ana.say(berlin, "levanta el puño", msgtype="m.emote")
            events = await cleo.wait_for(wien, lambda ev: len(from_bot(ev, bot)) == 1)
    copy = from_bot(events, bot)[0]
    assert "* Berlin levanta el puño" in copy["body"]
    local = ana.user_id.split(":")[0].lstrip("@")
    for shown in (copy["body"], copy["formatted_body"]):
        assert "Ana" not in shown
        assert local not in shown
