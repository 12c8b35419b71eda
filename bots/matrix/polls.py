"""Matrix polls (MSC3381, as Element sends them): a poll copy sent as a native poll, a
member's poll read into the envelope, and poll responses and ends on the bot's polls read
into vote envelopes.

- Sent: ``org.matrix.msc3381.poll.start`` with the question, answers with the ids "1".."n"
  (option i is id str(i+1)), ``disclosed``, ``max_selections`` 1 (or n where several
  answers are allowed), and the numbered list as the fallback text older clients show. The
  bot remembers the polls it sent (``tl:bot:<id>:poll:<event id>``: room id, number of
  answers, max selections; ids only, for the message map's lifetime).
- Read: a member's ``poll.start`` (unstable ``org.matrix.msc3381.poll.start`` or stable
  ``m.poll.start``) becomes a message envelope with a ``Poll``; one with no question or
  fewer than two answers still does, and the relay carries it as text with its note.
- A ``poll.response`` counts only when it relates (``m.reference``) to a poll this bot sent,
  in the same room: anything else (a text event, a member's poll, another room's poll)
  makes no envelope. Its answers are the ids we gave; a response naming an id we did not
  give, or more ids than ``POLL_READ``, is spoiled and counts nothing (MSC3381); duplicates
  count once and only the first ``max_selections`` count. The core keeps each member's
  latest choice (under a keyed hash, never who).
- A ``poll.end`` on the bot's poll, from a moderator of the room (only the poll's sender or
  a moderator may end a poll in Matrix), closes it: the core posts the results.
"""

from __future__ import annotations

import json
from typing import Any, cast

from redis.asyncio import Redis

from bots.matrix.ingest import Where
from bots.matrix.ingest import _reply_to as reply_to_of
from bridge.model import keys
from bridge.model.envelope import POLL_READ, Ballot, Delivery, Envelope, Poll, Sender

POLLS_TTL_S = 90 * 86400  # how long a sent poll's votes are followed (as the message map)
UNSTABLE = "org.matrix.msc3381.poll"
TEXT = "org.matrix.msc1767.text"
START = {f"{UNSTABLE}.start", "m.poll.start"}
RESPONSE = {f"{UNSTABLE}.response", "m.poll.response"}
END = {f"{UNSTABLE}.end", "m.poll.end"}
START_TYPE = f"{UNSTABLE}.start"  # what Element sends, and so what the bot sends
POLL_EVENTS = START | RESPONSE | END


def _s(value: object) -> str:
    return value if isinstance(value, str) else ""


def _d(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def text_of(node: object) -> str:
    """The text of a question or an answer, in any of the shapes clients send: the unstable
    ``org.matrix.msc1767.text`` string, a ``body``, or the stable ``m.text`` list."""
    found = _d(node)
    stable = found.get("m.text")
    if isinstance(stable, list):
        return next((_s(_d(t).get("body")) for t in stable if _s(_d(t).get("body"))), "")
    return _s(found.get(TEXT)) or _s(found.get("body")) or _s(stable)


def poll_content(d: Delivery) -> dict[str, Any]:
    """The ``org.matrix.msc3381.poll.start`` content of a poll copy (see the module)."""
    poll = d.poll
    assert poll is not None
    answers = [{"id": str(i), TEXT: option} for i, option in enumerate(poll.options, start=1)]
    start = {"question": {TEXT: poll.question}, "kind": f"{UNSTABLE}.disclosed",
             "max_selections": len(poll.options) if poll.multiple else 1,
             "answers": answers}  # fmt: skip
    return {f"{UNSTABLE}.start": start, TEXT: d.text, "body": d.text, "m.mentions": {}}


async def remember(redis: Redis, bot_id: str, event_id: str, room_id: str, d: Delivery) -> None:
    """Note a poll this bot sent: only responses to it will count."""
    poll = d.poll
    assert poll is not None
    n = len(poll.options)
    where = json.dumps({"room": room_id, "n": n, "max": n if poll.multiple else 1})
    # one key a poll, expiring on its own (ids only)
    await redis.set(keys.bot_state(bot_id, f"poll:{event_id}"), where, ex=POLLS_TTL_S)


def read_start(content: dict[str, Any]) -> Poll:
    """A member's poll, from either the unstable or the stable content."""
    start = _d(content.get(f"{UNSTABLE}.start")) or _d(content.get("m.poll"))
    answers = start.get("answers")
    texts = [text_of(a) for a in answers[:POLL_READ]] if isinstance(answers, list) else []
    most = start.get("max_selections")
    multiple = isinstance(most, int) and not isinstance(most, bool) and most > 1
    return Poll.of(text_of(start.get("question")), texts, multiple=multiple)


def choices(content: dict[str, Any], n: int, most: int) -> tuple[int, ...]:
    """The option indices a response names, or () when it is spoiled (see the module)."""
    unstable = _d(content.get(f"{UNSTABLE}.response")).get("answers")
    ids = unstable if isinstance(unstable, list) else content.get("m.selections")
    if not isinstance(ids, list) or len(ids) > POLL_READ:
        return ()
    valid = {str(i): i - 1 for i in range(1, n + 1)}
    if any(not isinstance(i, str) or i not in valid for i in ids):
        return ()  # an id we did not give: spoiled
    picked: list[int] = []
    for i in ids:
        if valid[i] not in picked:
            picked.append(valid[i])
    return tuple(picked[:most])


async def read_vote(
    redis: Redis, bot_id: str, room_id: str, event: dict[str, Any], base: dict[str, Any],
    *, admin: bool,
) -> Envelope | None:  # fmt: skip
    """A response or an end relating to a poll this bot sent in this room, as a vote
    envelope; None for anything else."""
    kind, content = _s(event.get("type")), _d(event.get("content"))
    relation = _d(content.get("m.relates_to"))
    target = _s(relation.get("event_id"))
    if relation.get("rel_type") != "m.reference" or not target:
        return None
    raw = cast(str | None, await redis.get(keys.bot_state(bot_id, f"poll:{target}")))
    if raw is None:
        return None  # not this bot's poll: counts nothing
    sent = json.loads(raw)
    if sent.get("room") != room_id:
        return None  # a response in another room to a poll sent here
    if kind in END:
        if not admin:
            return None  # only a moderator may end the bot's poll
        ballot = Ballot(closed=True)
    else:
        picked = choices(content, int(sent["n"]), int(sent["max"]))
        if not picked:
            return None
        ballot = Ballot(choices=picked)
    return Envelope(kind="vote", message_id=target, ballot=ballot, **base)


async def read_poll(
    redis: Redis, bot_id: str, room_id: str, event: dict[str, Any], base: dict[str, Any],
    *, admin: bool, reply_to: str | None,
) -> Envelope | None:  # fmt: skip
    """The envelope a poll event makes (a member's poll, or a vote on the bot's), or None.
    ``base`` holds the envelope's common fields (key, bot, chat, sender, ...)."""
    kind = _s(event.get("type"))
    if kind in START:
        poll = read_start(_d(event.get("content")))
        return Envelope(kind="message", message_id=_s(event.get("event_id")), poll=poll,
                        reply_to=reply_to, **base)  # fmt: skip
    if kind in RESPONSE | END:
        return await read_vote(redis, bot_id, room_id, event, base, admin=admin)
    return None


async def read(
    redis: Redis, room_id: str, event: dict[str, Any], where: Where, name: str, *, admin: bool
) -> Envelope | None:
    """What a poll event (``POLL_EVENTS``) in a configured room makes, or None; the bot's
    own events never re-enter."""
    event_id, sender = _s(event.get("event_id")), _s(event.get("sender"))
    if not event_id or not sender or sender == where.own:
        return None
    base: dict[str, Any] = {
        "key": f"mx:{where.bot}:{event_id}",
        "bot": where.bot,
        "chat": where.chat,
        "sender": Sender(id=f"matrix:{sender}", name=name or sender),
        "encrypted": where.encrypted,
        "admin": admin,
    }
    ts = event.get("origin_server_ts")
    if isinstance(ts, int) and not isinstance(ts, bool) and ts > 0:
        base["ts"] = ts / 1000
    relation = _d(_d(event.get("content")).get("m.relates_to"))
    return await read_poll(redis, where.bot, room_id, event, base, admin=admin,
                           reply_to=reply_to_of(relation))  # fmt: skip
