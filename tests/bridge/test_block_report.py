"""block, unblock, blocks and report through the real relay and Redis, with in-memory bots.

What a moderator and a member would notice: a blocked sender's next message reaches the other
rooms but not the room that blocked them, whatever name they take; the sender is told nothing;
a report reaches the origin room's moderators once, in their language, as a reply to the
original; every refusal is said in the room's language and audited, ids only."""

from __future__ import annotations

import time
from pathlib import Path

import redis.asyncio

from bridge.model import keys
from bridge.moderation.audit import Audit
from tests.bridge.test_moderation import settled as moderation_settled
from tests.harness import committed, eventually, memory_config, running
from tests.memory_bot import NETWORK, ChatMessage

KEY = "k" * 32  # a pseudonym key (the config's pseudonym_key)


def copies(chat: str, needle: str) -> list[ChatMessage]:
    return [m for m in NETWORK.seen_in(chat) if needle in m.text and not m.notice]


def answers(chat: str) -> list[str]:
    return [m.text for m in NETWORK.seen_in(chat) if m.notice]


async def said(chat: str, start: str) -> str:
    await eventually(lambda: any(a.startswith(start) for a in answers(chat)), what=start)
    return next(a for a in answers(chat) if a.startswith(start))


async def settled(net: object, chat: str) -> None:
    """What ``chat`` posted before has been relayed, and every planned delivery made."""
    await moderation_settled(NETWORK, chat)


async def test_a_blocked_sender_reaches_every_room_but_the_one_that_blocked_them(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    # a tagged circle: the bridge keeps recent messages, so a block shows the sender's name
    circle = {"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": "tagged", "tags": ["x"]}
    cfg = memory_config(tmp_path, redis_url, pseudonym_key=KEY, circles=[circle])
    async with running(cfg) as (_, net):
        cdmx, berlin = net.bot("a"), net.bot("b")
        await cdmx.post("a1", "Spam eins #x", who="troll", name="Troll")
        await eventually(lambda: len(copies("b1", "Spam eins")) == 1)
        copy = copies("b1", "Spam eins")[0]

        # a member of Berlin who is not a moderator: refused, in German, nothing changes
        await berlin.command("b1", "block", reply_to=copy.id, who="jonas")
        await said("b1", "Nur die Moderation dieses Raums")
        # Berlin's moderator blocks, for 7 days
        await berlin.command("b1", "block", args="7d", reply_to=copy.id, who="lena", admin=True)
        answer = await said("b1", "Blockiert")
        assert "Troll (CDMX)" in answer
        assert "7" in answer

        # the next message, under a new name: NYC gets it, Berlin does not; nobody tells Troll
        await cdmx.post("a1", "Spam zwei #x", who="troll", name="Ein neuer Name")
        await eventually(lambda: len(copies("c1", "Spam zwei")) == 1)
        await cdmx.post("a1", "Hola de Ana #x", who="ana", name="Ana")
        await eventually(lambda: len(copies("b1", "Hola de Ana")) == 1)  # others still cross
        assert not copies("b1", "Spam zwei")
        assert not [a for a in answers("a1") if "block" in a.lower()]

        # blocks: the name shown at block time, and the expiry
        await berlin.command("b1", "blocks", who="lena", admin=True)
        listing = await said("b1", "Blockiert in diesem Raum")
        assert "Troll (CDMX)" in listing
        assert "Ein neuer Name" not in listing

        # nothing in Redis names Troll: the flag is a keyed hash
        flags = [str(f) for f in await redis_client.zrange(keys.MOD_FLAGS, 0, -1)]
        blocked = [f for f in flags if f.startswith(keys.blocked("berlin", ""))]
        assert len(blocked) == 1
        assert "troll" not in blocked[0].lower()
        expires = await redis_client.zscore(keys.MOD_FLAGS, blocked[0])
        assert 6.9 * 86400 < expires - time.time() <= 7 * 86400

        # unblock, as a reply to the copy: Troll reaches Berlin again
        await berlin.command("b1", "unblock", reply_to=copy.id, who="lena", admin=True)
        await said("b1", "Entsperrt")
        await cdmx.post("a1", "Spam drei #x", who="troll", name="Troll")
        await eventually(lambda: len(copies("b1", "Spam drei")) == 1)

    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert ("memory:jonas", "block", "refused") in trail
    assert ("memory:lena", "block", "done") in trail
    assert ("memory:lena", "unblock", "done") in trail


async def test_block_refuses_what_is_not_a_copy_and_bad_durations(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    cfg = memory_config(tmp_path, redis_url, pseudonym_key=KEY)
    async with running(cfg) as (_, net):
        berlin = net.bot("b")
        own = await berlin.post("b1", "Hallo aus Berlin", who="jonas", name="Jonas")
        await eventually(lambda: len(copies("a1", "Hallo aus Berlin")) == 1)
        # a reply to a message written in this room: not a copy; refused with the reason
        await berlin.command("b1", "block", reply_to=own, who="lena", admin=True)
        refusal = await said("b1", "Nur Kopien")
        assert "Es wurde nichts geändert" in refusal
        # no reply at all, and a reply to something the bridge never carried
        await berlin.command("b1", "block", who="lena", admin=True)
        await said("b1", "Antworte mit +block")
        await berlin.command("b1", "block", reply_to="404", who="lena", admin=True)
        await eventually(lambda: len([a for a in answers("b1") if a.startswith("Nur Kopien")]) == 2)
        # a duration that is no duration, and one beyond ten years: one line, nothing changes
        await net.bot("a").post("a1", "Hola", who="ana", name="Ana")
        await eventually(lambda: len(copies("b1", "Hola")) == 1)
        copy = copies("b1", "Hola")[0]
        await berlin.command("b1", "block", args="soon", reply_to=copy.id, who="lena", admin=True)
        await said("b1", "«soon» ist keine Dauer")
        await berlin.command("b1", "block", args="99999d", reply_to=copy.id, who="lena",
                             admin=True)  # fmt: skip
        await said("b1", "«99999d» ist keine Dauer")
        flags = [str(f) for f in await redis_client.zrange(keys.MOD_FLAGS, 0, -1)]
        assert not [f for f in flags if f.startswith(keys.blocked("", "")[: len("tl:blocked")])]
        # forever: the list says so
        await berlin.command("b1", "block", args="forever", reply_to=copy.id, who="lena",
                             admin=True)  # fmt: skip
        await said("b1", "Blockiert")
        await berlin.command("b1", "blocks", who="lena", admin=True)
        assert "für immer" in await said("b1", "Blockiert in diesem Raum")

    trail = [(e.action, e.outcome, e.detail) for e in await Audit(redis_client, 90).read()]
    assert ("block", "refused", "not a copy") in trail
    assert all("Hallo" not in d and "Hola" not in d for _, _, d in trail)


async def test_a_report_reaches_the_origin_moderators_once_with_a_count(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    cfg = memory_config(tmp_path, redis_url, pseudonym_key=KEY)
    async with running(cfg) as (_, net):
        cdmx, berlin, nyc = net.bot("a"), net.bot("b"), net.bot("c")
        origin = await cdmx.post("a1", "Adresse von jemandem", who="troll", name="Troll")
        await eventually(lambda: len(copies("b1", "Adresse")) == 1)
        await eventually(lambda: len(copies("c1", "Adresse")) == 1)
        await committed(net)
        reason = "zeigt eine Wohnadresse <b>" + "x" * 400
        await berlin.command("b1", "report", args=reason, reply_to=copies("b1", "Adresse")[0].id,
                             who="jonas")  # fmt: skip
        ack = await said("b1", "Danke")
        assert "CDMX" in ack
        notice = await said("a1", "Denuncia")
        (in_cdmx,) = [m for m in NETWORK.seen_in("a1") if m.notice and m.text == notice]
        assert in_cdmx.reply_to == origin  # a reply to the original, in its room
        assert "Berlin" in notice
        assert "zeigt eine Wohnadresse <b>" in notice  # the member's words, carried as such
        assert "x" * 300 not in notice  # at most 300 characters of them
        assert "\n" not in notice.split("«", 1)[1]
        # a second report (from NYC) and a repeat (Jonas again): merged, one notice
        await nyc.command("c1", "report", reply_to=copies("c1", "Adresse")[0].id, who="sam")
        assert "2" in await said("c1", "Thank you")
        await berlin.command("b1", "report", reply_to=copies("b1", "Adresse")[0].id,
                             who="jonas")  # fmt: skip
        await eventually(lambda: len([a for a in answers("b1") if a.startswith("Danke")]) == 2)
        await settled(net, "a1")
        assert len([a for a in answers("a1") if a.startswith("Denuncia")]) == 1
        # a report of a message written in this room: not a copy
        own = await berlin.post("b1", "Eigene Nachricht", who="jonas", name="Jonas")
        await berlin.command("b1", "report", reply_to=own, who="mia")
        await said("b1", "Nur Kopien")

    trail = await Audit(redis_client, 90).read()
    reports = [e for e in trail if e.action == "report"]
    assert [e.outcome for e in reports].count("done") == 3
    assert [e.outcome for e in reports].count("refused") == 1
    assert all("Wohnadresse" not in e.detail for e in trail)  # ids only
