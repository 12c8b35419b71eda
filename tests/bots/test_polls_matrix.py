"""Matrix polls (MSC3381) through the real Matrix adapter on a real Synapse, with the sandbox
Bot API server for the Telegram side. Hostile cases first: a poll response on a text event,
on a poll the bot did not send, in another room, with ids the poll does not have or with 50
ids counts nothing; a poll end from a member who is no moderator closes nothing; a poll with
no answers or no question crosses as text with the core's note. Then: a Telegram poll shows
in a Matrix room as a native poll in German, a Matrix member's response is counted and
``!poll results`` shows it per city; a Matrix member's poll crosses to Telegram as a poll.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio
from nio import RoomGetStateEventResponse

from bots.matrix import polls
from bots.matrix.ingest import Where
from bridge.model.envelope import Delivery, MsgRef, Poll
from sandbox.telegram import BotApiServer
from sandbox.telegram import polls as tg_polls
from tests.bots.e2e_world import Matrix, World, bridge, cdmx_room, telegram_bot
from tests.bots.telegram_world import ANA, CDMX
from tests.harness import eventually

QUESTION, YES, NO = "¿Bloqueamos el jueves?", "Sí, el jueves", "Mejor el viernes"
GERMAN = {QUESTION: "Blockieren wir am Donnerstag?", YES: "Ja, Donnerstag",
          NO: "Lieber Freitag"}  # fmt: skip
WHERE = Where(bot="mx", chat="!berlin:test", own="@bridge:test")
POLL_EVENT = "$the-bots-poll"


def _response(target: str, answers: object, rel: str = "m.reference") -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": rel, "event_id": target},
            f"{polls.UNSTABLE}.response": {"answers": answers}}  # fmt: skip


def _event(kind: str, content: dict[str, Any], sender: str = "@lena:test") -> dict[str, Any]:
    return {"type": kind, "event_id": "$ev", "sender": sender, "content": content,
            "origin_server_ts": 1_700_000_000_000}  # fmt: skip


async def _sent_poll(redis_client: redis.asyncio.Redis, *, multiple: bool = False) -> None:
    d = Delivery(key="k", action="send", bot="mx", room="berlin", chat=WHERE.chat,
                 origin=MsgRef(room="cdmx", id="1"), text="list",
                 poll=Poll(question="Q", options=("a", "b", "c"), multiple=multiple))  # fmt: skip
    await polls.remember(redis_client, "mx", POLL_EVENT, "!room:test", d)


async def _read(
    redis_client: redis.asyncio.Redis, content: dict[str, Any], *, kind: str = "response",
    room: str = "!room:test", admin: bool = False,
) -> Any:  # fmt: skip
    event = _event(f"{polls.UNSTABLE}.{kind}", content)
    return await polls.read(redis_client, room, event, WHERE, "Lena", admin=admin)


async def test_a_response_to_anything_but_the_bots_poll_in_its_room_counts_nothing(
    redis_client: redis.asyncio.Redis,
) -> None:
    await _sent_poll(redis_client)
    assert await _read(redis_client, _response("$a-text-event", ["1"])) is None
    assert await _read(redis_client, _response(POLL_EVENT, ["1"]), room="!other:test") is None
    assert await _read(redis_client, _response(POLL_EVENT, ["1"], rel="m.annotation")) is None
    own = _event(f"{polls.UNSTABLE}.response", _response(POLL_EVENT, ["1"]), WHERE.own)
    assert await polls.read(redis_client, "!room:test", own, WHERE, "", admin=False) is None
    counted = await _read(redis_client, _response(POLL_EVENT, ["2"]))
    assert counted.kind == "vote"
    assert counted.message_id == POLL_EVENT
    assert counted.ballot.choices == (1,)
    assert counted.sender.id == "matrix:@lena:test"


async def test_unknown_answer_ids_or_fifty_ids_spoil_the_response(
    redis_client: redis.asyncio.Redis,
) -> None:
    await _sent_poll(redis_client)
    for answers in (["4"], ["0"], ["1", "x"], [1], ["1"] * 50, [], "1", None):
        assert await _read(redis_client, _response(POLL_EVENT, answers)) is None, answers
    one = await _read(redis_client, _response(POLL_EVENT, ["3", "1", "3"]))
    assert one.ballot.choices == (2,)  # max_selections 1: the first answer only
    stable = {"m.relates_to": {"rel_type": "m.reference", "event_id": POLL_EVENT},
              "m.selections": ["2"]}  # fmt: skip
    assert (await _read(redis_client, stable)).ballot.choices == (1,)


async def test_several_answers_count_where_the_poll_allows_them_each_once(
    redis_client: redis.asyncio.Redis,
) -> None:
    await _sent_poll(redis_client, multiple=True)
    both = await _read(redis_client, _response(POLL_EVENT, ["3", "1", "3"]))
    assert both.ballot.choices == (2, 0)


async def test_only_a_moderator_ends_the_bots_poll(redis_client: redis.asyncio.Redis) -> None:
    await _sent_poll(redis_client)
    end = {"m.relates_to": {"rel_type": "m.reference", "event_id": POLL_EVENT}}
    assert await _read(redis_client, end, kind="end") is None
    assert (
        await _read(
            redis_client,
            {"m.relates_to": {"rel_type": "m.reference", "event_id": "$not-ours"}},
            kind="end",
            admin=True,
        )
        is None
    )
    closed = await _read(redis_client, end, kind="end", admin=True)
    assert closed.ballot.closed
    assert closed.ballot.choices == ()


def test_a_member_poll_is_read_from_the_unstable_and_the_stable_shapes() -> None:
    unstable = {
        f"{polls.UNSTABLE}.start": {
            "question": {polls.TEXT: "Kommt ihr?", "body": "Kommt ihr?"},
            "max_selections": 2,
            "answers": [{"id": "a", polls.TEXT: "Ja"}, {"id": "b", polls.TEXT: "Nein"}],
        }
    }
    stable = {"m.poll": {"question": {"m.text": [{"body": "Kommt ihr?"}]},
                         "answers": [{"m.id": "a", "m.text": [{"body": "Ja"}]},
                                     {"m.id": "b", "m.text": [{"body": "Nein"}]}]}}  # fmt: skip
    assert polls.read_start(unstable) == Poll(question="Kommt ihr?", options=("Ja", "Nein"),
                                              multiple=True)  # fmt: skip
    assert polls.read_start(stable) == Poll(question="Kommt ihr?", options=("Ja", "Nein"))
    junk = {f"{polls.UNSTABLE}.start": {"question": 7, "answers": [{"x": 1}] * 500}}
    assert polls.read_start(junk).question == ""
    assert len(polls.read_start(junk).options) <= 20


def _lenas_polls(tg: BotApiServer, chat: int) -> list[dict[str, Any]]:
    """The poll copies of Lena's poll in ``chat`` (not Ana's own poll there)."""
    return [m for m in tg.messages(chat) if m["kind"] == "poll" and "Lena" in str(m["poll"])]


def _bot_polls(events: list[dict[str, Any]], bot: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") == polls.START_TYPE and e.get("sender") == bot]


async def _ask(mx: Matrix, poll_id: str, word: str) -> str:
    """Lena's ``!poll results`` reply to the bot's poll; the bot's answer."""
    await mx.lena.say(mx.room, "!poll results", reply_to=poll_id)
    return str((await mx.wait_said(word, seconds=60))[-1]["body"])


async def test_polls_cross_between_telegram_and_matrix_natively_and_count_matrix_votes(
    e2e: World,
) -> None:
    tg, libre = e2e.tg, e2e.libre
    libre.add_phrases({es: {"es": es, "de": de} for es, de in GERMAN.items()})
    async with e2e.matrix() as mx:
        lena, berlin, bot = mx.lena, mx.room, mx.bot
        loaded = e2e.config(bots=[telegram_bot(tg), mx.bot_entry()],
                               rooms=[cdmx_room(), mx.room_entry()], libre=libre)  # fmt: skip
        async with bridge(loaded, mx):
            tg_polls.post_poll(tg.world, CDMX, ANA, QUESTION, [YES, NO])
            events = await lena.wait_for(berlin, lambda ev: bool(_bot_polls(ev, bot)), 60)
            copy = _bot_polls(events, bot)[0]
            start = copy["content"][polls.START_TYPE]
            assert start["question"][polls.TEXT] == f"Ana (CDMX): {GERMAN[QUESTION]}"
            assert [a[polls.TEXT] for a in start["answers"]] == [GERMAN[YES], GERMAN[NO]]
            assert [a["id"] for a in start["answers"]] == ["1", "2"]
            assert start["max_selections"] == 1
            assert "1. Ja, Donnerstag" in copy["content"][polls.TEXT]  # the fallback text

            # hostile: votes on a text, ids the poll lacks, 50 ids; then Lena's real vote
            text_id = await lena.say(berlin, "Ich komme")
            kind = f"{polls.UNSTABLE}.response"
            await lena.send(berlin, _response(text_id, ["1"]), kind=kind)
            await lena.send(berlin, _response(copy["event_id"], ["9"]), kind=kind)
            await lena.send(berlin, _response(copy["event_id"], ["1"] * 50), kind=kind)
            await lena.send(berlin, _response(copy["event_id"], ["2"]), kind=kind)
            answer = await _ask(mx, copy["event_id"], "Umfrageergebnis")
            assert "Umfrageergebnis: 1 Person hat im Netzwerk abgestimmt." in answer
            assert "Antwort 1: 0 Stimmen" in answer
            assert "Antwort 2: 1 Stimme (Berlin 1)" in answer
            assert "Berlin: 1 Person hat abgestimmt" in answer

            # Lena's own poll crosses to CDMX as a Telegram poll
            mine = {f"{polls.UNSTABLE}.start": {
                "question": {polls.TEXT: "Kommt ihr?"}, "kind": f"{polls.UNSTABLE}.disclosed",
                "max_selections": 1, "answers": [{"id": "a", polls.TEXT: "Ja"},
                                                 {"id": "b", polls.TEXT: "Nein"}]},
                polls.TEXT: "Kommt ihr?\n1. Ja\n2. Nein"}  # fmt: skip
            await lena.send(berlin, mine, kind=polls.START_TYPE)
            await eventually(lambda: bool(_lenas_polls(tg, CDMX)), timeout=60, what="the poll")
            # hostile: a poll with no answers is no poll: text with the core's note
            empty = {f"{polls.UNSTABLE}.start": {"question": {polls.TEXT: "Leer?"},
                                                 "answers": []}}  # fmt: skip
            await lena.send(berlin, empty, kind=polls.START_TYPE)
            await eventually(
                lambda: any("Leer?" in str(m["text"]) for m in tg.messages(CDMX)), timeout=60
            )
    (crossed,) = _lenas_polls(tg, CDMX)
    poll = crossed["poll"]
    assert isinstance(poll, dict)
    assert poll["question"].startswith("Lena (Berlin): ")
    assert "Kommt ihr?" in poll["question"]
    assert len(poll["options"]) == 2
    (note,) = [m for m in tg.messages(CDMX) if "Leer?" in str(m["text"] or "")]
    assert note["kind"] == "text"
    assert "necesita una pregunta y al menos dos opciones]" in str(note["text"])


async def test_a_room_that_refuses_polls_gets_the_numbered_list_with_bang_vote(e2e: World) -> None:
    """Lena's room lets only its admins send polls: the bot's poll is refused (403), and the
    copy goes as the numbered list, answered with ``!vote N``."""
    tg = e2e.tg
    async with e2e.matrix() as mx:
        lena, berlin, bot = mx.lena, mx.room, mx.bot
        levels = await lena.client.room_get_state_event(berlin, "m.room.power_levels")
        assert isinstance(levels, RoomGetStateEventResponse), levels
        content = dict(levels.content)
        content["events"] = {**content.get("events", {}), polls.START_TYPE: 100}
        await lena.client.room_put_state(berlin, "m.room.power_levels", content)
        loaded = e2e.config(bots=[telegram_bot(tg), mx.bot_entry()],
                               rooms=[cdmx_room(), mx.room_entry("es")])  # fmt: skip
        async with bridge(loaded, mx):
            tg_polls.post_poll(tg.world, CDMX, ANA, QUESTION, [YES, NO])
            await mx.wait_said("!vote N", seconds=60)
    assert not _bot_polls(lena.events[berlin], bot)
    (listed,) = [c["body"] for c in mx.said("!vote N")]
    assert f"1. {YES}" in listed
