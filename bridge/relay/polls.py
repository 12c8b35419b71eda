"""Polls crossing: one poll in, a translated native poll (with a numbered list to fall back
on) per target room out; and the tally of the copies' votes, per room.

A poll copy is a ``Delivery`` with ``poll`` set: the question (headed by the attribution),
the options, translated through the same chain as messages (each text once per language,
tagged with the origin so that a retract purges them), shortened to the network's limits
(``bridge.model.envelope.POLL_*``: the strictest platform's, so that every room votes on the
same options) with a note in the question, never refused. Its ``text`` is the same poll as a
numbered list with how to answer ``vote N``: what an adapter sends where its platform cannot
show a native poll. A poll with no question or fewer than two options is not a poll anywhere:
it crosses as that text, with a note, so nothing is lost.

The tally (``Tally``) holds counts, never who: a poll's record ``tl:poll:<origin>`` has
``.n`` (its number of options: only polls the relay sent copies of can be voted on) and, per
room, that copy's per-option counts and voters as JSON. Where a platform counts itself
(Telegram), its latest totals replace the room's; where members vote one by one (Matrix poll
responses, ``vote N``), each member's latest choice is kept under a hash of their id keyed
by a secret random per poll (``tl:poll:b:<origin>:<room>``), and the room's counts are
summed from those. Everything expires with the message map. Nothing here knows a platform.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from typing import Protocol, cast

from redis.asyncio import Redis

from bridge.config.models import CircleConfig, Config, RoomConfig
from bridge.infra import tally
from bridge.model import keys
from bridge.model.envelope import (
    POLL_OPTION,
    POLL_OPTIONS,
    POLL_QUESTION,
    Ballot,
    Delivery,
    Envelope,
    MsgRef,
    Poll,
)
from bridge.model.i18n import Param, _, lines, ngettext, render
from bridge.relay.translate import Translator
from translation.translator import Result

Targets = dict[str, tuple[RoomConfig, str, CircleConfig]]
NOT_A_POLL = _("[a poll not carried as a poll: it needs a question and at least two options]")


def units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-16 units: cut at a word where one is near, marked "…"."""
    text = text.strip()
    if units(text) <= limit:
        return text
    cut = text
    while units(cut) > limit - 1:
        cut = cut[: max(len(cut) - max((units(cut) - limit + 1) // 2, 1), 0)]
    space = cut.rfind(" ")
    if space > len(cut) * 2 // 3:
        cut = cut[:space]
    return cut.rstrip() + "…"


def shortened(question: str, options: tuple[str, ...], language: str, head: str) -> Poll:
    """The poll within the network's limits, ``head`` (the attribution) before the question
    and, when anything was cut, a note in ``language`` after it."""
    left_out = max(len(options) - POLL_OPTIONS, 0)
    kept = options[:POLL_OPTIONS]
    cut = left_out > 0 or any(units(o.strip()) > POLL_OPTION for o in kept)
    full = f"{head}{question.strip()}"
    note = ""
    if left_out:
        note = render(
            ngettext(
                "(shortened: {n} option left out)", "(shortened: {n} options left out)", left_out
            ),
            language,
        )
    elif cut or units(full) > POLL_QUESTION:
        note = render(_("(shortened to fit)"), language)
    text = f"{fit(full, POLL_QUESTION - units(note) - 1)} {note}" if note else full
    return Poll(question=text, options=tuple(fit(o, POLL_OPTION) or "…" for o in kept))


def listed(poll: Poll, language: str, command: str) -> str:
    """The poll as a numbered list, with how to vote: where no native poll can be shown."""
    numbered = [f"{i}. {option}" for i, option in enumerate(poll.options, start=1)]
    vote = command + "vote N"
    hint = render(
        _("Reply {command} to this message to vote (N: the option's number).", command=vote),
        language,
    )
    return "\n".join([poll.question, *numbered, hint])


class PollRouter(Protocol):
    """What poll copies need of the relay's router."""

    @property
    def config(self) -> Config: ...
    @property
    def redis(self) -> Redis: ...
    @property
    def translator(self) -> Translator: ...
    @property
    def prefix_of(self) -> dict[str, str]: ...


async def poll_copies(
    router: PollRouter,
    envelope: Envelope,
    room: RoomConfig,
    origin: MsgRef,
    targets: Targets,
    parent: MsgRef | None,
) -> list[Delivery]:
    """One poll copy per target room, translated, within the limits (see the module)."""
    translator, redis, prefix_of = router.translator, router.redis, router.prefix_of
    ttl_s = router.config.retention.message_map_days * 86400
    poll = envelope.poll
    assert poll is not None
    texts = [poll.question, *poll.options]
    languages = {target.language for target, _credit, _c in targets.values()}
    results: list[dict[str, Result]] = await asyncio.gather(
        *(
            translator.translate(t, room.language, languages, (), str(origin), envelope.sender.name)
            for t in texts
        )
    )
    valid = bool(poll.question.strip()) and sum(bool(o.strip()) for o in poll.options) >= 2
    if valid:
        await redis.hset(keys.poll(origin), ".n", min(len(poll.options), POLL_OPTIONS))
        await redis.hsetnx(keys.poll(origin), ".salt", secrets.token_hex(16))
        await redis.expire(keys.poll(origin), ttl_s)
    out = []
    for target, credit, _circle in targets.values():
        shown = [
            r[target.language].text if target.language in r else t
            for r, t in zip(results, texts, strict=True)
        ]
        first = results[0].get(target.language)
        common = dict(
            key=f"{envelope.key}>{target.id}",
            action="send",
            origin=origin,
            reply_to=parent,
            attribution=credit,
            language=target.language,
            received=envelope.received,
            source_language=first.source if first else room.language,
            translated=first is not None and first.status == "translated",
            untranslated=first is not None and first.status == "failed",
        )
        if not valid:
            items = [s for s in shown if s.strip()]
            text = "\n".join([*items, render(NOT_A_POLL, target.language)])
            out.append(Delivery.to(target, text=text, **common))
            continue
        head = f"{credit}: " if credit else ""
        native = shortened(shown[0], tuple(shown[1:]), target.language, head)
        native = native.model_copy(update={"multiple": poll.multiple, "anonymous": poll.anonymous})
        bare = shortened(shown[0], tuple(shown[1:]), target.language, "")
        text = listed(bare, target.language, prefix_of.get(target.bot, "/"))
        out.append(Delivery.to(target, text=text, poll=native, **common))
    return out


@dataclass
class Count:
    """One room's copy: votes per option, and how many people voted."""

    counts: list[int]
    voters: int


class Tally:
    """The counts of a poll's copies (see the module): who voted is kept only as a keyed
    hash, and only where the platform leaves counting to the bridge."""

    def __init__(self, redis: Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def options(self, origin: MsgRef) -> int:
        """How many options the poll has; 0 when it is not a poll the relay sent copies of."""
        found = cast(str | None, await self.redis.hget(keys.poll(origin), ".n"))
        return int(found) if found else 0

    async def record(self, origin: MsgRef, room: str, voter: str, ballot: Ballot) -> bool:
        """Counts a vote on ``room``'s copy. False (nothing counted) when it does not fit
        the poll: an option that does not exist, totals of another size."""
        n = await self.options(origin)
        if ballot.counts is not None:
            if len(ballot.counts) != n or any(c < 0 for c in ballot.counts):
                return False
            voters = max(ballot.voters, max(ballot.counts, default=0))
            value = json.dumps({"counts": list(ballot.counts), "voters": voters})
            await self.redis.hset(keys.poll(origin), room, value)
            return True
        if not ballot.choices or any(not 0 <= c < n for c in ballot.choices):
            return False
        salt = cast(str | None, await self.redis.hget(keys.poll(origin), ".salt")) or ""
        who = tally.marker_of(salt, voter, 24)
        key = keys.poll_ballots(origin, room)
        await self.redis.hset(key, who, json.dumps(sorted(set(ballot.choices))))
        await self.redis.expire(key, self.ttl_s)
        counts = [0] * n
        raw = await self.redis.hvals(key)
        for choices in raw:
            for c in json.loads(choices):
                if 0 <= c < n:
                    counts[c] += 1
        value = json.dumps({"counts": counts, "voters": len(raw)})
        await self.redis.hset(keys.poll(origin), room, value)
        return True

    async def counts(self, origin: MsgRef) -> dict[str, Count]:
        """Room id -> its copy's counts, for every room with a vote."""
        found = await self.redis.hgetall(keys.poll(origin))
        out = {}
        for room, raw in found.items():
            if str(room).startswith("."):
                continue
            value = json.loads(raw)
            out[str(room)] = Count([int(c) for c in value["counts"]], int(value["voters"]))
        return out


def results_text(
    n: int, counts: dict[str, Count], labels: dict[str, str], origin_room: str, *, closed: bool
) -> Param:
    """Per option the network total and each city's; per city its voters; the origin room
    said apart (a bot sees no votes on a poll a member posted). ``labels`` holds the rooms
    served now: a room that left since (the origin too) is not counted, and never fails."""
    voters = sum(c.voters for c in counts.values())
    head = ngettext(
        "Poll results: {n} voter in the network.",
        "Poll results: {n} voters in the network.",
        voters,
    )
    parts: list[Param] = [_("The poll is closed."), head] if closed else [head]
    order = [r for r in labels if r in counts]
    for i in range(n):
        total = sum(counts[r].counts[i] for r in order)
        cities = ", ".join(
            f"{labels[r]} {counts[r].counts[i]}" for r in order if counts[r].counts[i]
        )
        parts.append(
            ngettext(
                "Option {number}: {n} vote ({cities})",
                "Option {number}: {n} votes ({cities})",
                total,
                number=i + 1,
                cities=cities or "-",
            )
        )
    for r in order:
        parts.append(
            ngettext("{room}: {n} voter", "{room}: {n} voters", counts[r].voters, room=labels[r])
        )
    parts.append(
        _(
            "{room}: votes on the original poll are not counted; the bridge counts "
            "its own copies only.",
            room=labels.get(origin_room, origin_room),  # a room that left: its id
        )
    )
    return lines(*parts)
