"""Per-room word filters on incoming copies: a copy that matches is held, not delivered, and the
room's moderators get one notice to ``release`` or ``drop`` it (as replies to that notice).

Where the hold happens: the router's render step, through the relay's ``Policy.screen`` seam,
not the deliverer. Only there are both texts at hand, the translation into the target room's
language and the original (a delivery carries the original only when the circle shows it),
and a held copy then never enters the bot's outbox: no deliverer, retry or dead letter ever
sees it. The terms are mirrored in-process with the moderation state (read again when its
version counter moves, checked at most every ``MIRROR_CHECK_S``), so a message costs no
Redis round trip; a room with no filter costs one dict lookup.

A term is a word or phrase (matched whole, ignoring case) or ``/a regular expression/``,
compiled with the ``regex`` module and refused, with the error's position, when it does not
compile. Every match runs with ``timeout=MATCH_TIMEOUT_S``: a catastrophic pattern (``(a+)+$``
on a long text) is cut off there and counts as a match, so the copy waits for a moderator
rather than crossing unseen, and the relay moves on.

A held copy (its delivery, text included) waits in Redis under ``filter_hold`` for
``retention.recent_hours``, like the recent-messages buffer; ``release`` puts it in the outbox
as it was, ``drop`` deletes it. Which of the two wins is decided by one GETDEL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import regex
from redis.asyncio import Redis

from bridge.config.models import Config, RoomConfig
from bridge.model import keys
from bridge.model.envelope import Delivery, Envelope, MsgRef
from bridge.model.i18n import _, render
from bridge.moderation.state import ModerationState

log = logging.getLogger(__name__)

MATCH_TIMEOUT_S = 0.05  # the longest one term may take on one text
MAX_TERM = 200  # characters: a filter is a word or a short pattern, not a program
HELD_PREFIX = "held:"  # the id of a held notice's origin: ``held:<hold id>``


class TermError(ValueError):
    """A filter term that cannot be used; ``position`` is where a pattern fails (or -1)."""

    def __init__(self, message: str, position: int = -1) -> None:
        super().__init__(message)
        self.position = position


def error_parts(exc: regex.error) -> tuple[str, int]:
    """What a compile error says, and where (-1 when it does not say)."""
    message = str(getattr(exc, "msg", "") or exc)
    position = getattr(exc, "pos", None)
    return message, position if isinstance(position, int) else -1


def is_pattern(term: str) -> bool:
    return len(term) > 2 and term.startswith("/") and term.endswith("/")


def compile_term(term: str) -> regex.Pattern[str]:
    """A term as a pattern: ``/.../`` as written, anything else as a whole word or phrase;
    both ignore case. Raises ``TermError`` (with the position for a pattern)."""
    if not term.strip():
        raise TermError("empty")
    if len(term) > MAX_TERM:
        raise TermError(f"longer than {MAX_TERM} characters")
    if is_pattern(term):
        try:
            return regex.compile(term[1:-1], regex.IGNORECASE)
        except regex.error as exc:
            message, position = error_parts(exc)
            raise TermError(message, position + 1 if position >= 0 else -1) from None  # after /
    return regex.compile(r"(?<!\w)" + regex.escape(term.strip()) + r"(?!\w)", regex.IGNORECASE)


class FilterSet:
    """The terms of every room, from the config and from ``filter add``, compiled once."""

    def __init__(self, config: Config, state: ModerationState) -> None:
        self.state = state
        self.configured = {room.id: list(room.filter) for room in config.rooms}
        self._built: frozenset[str] | None = None
        self._patterns: dict[str, list[regex.Pattern[str]]] = {}

    def added(self, room_id: str) -> list[str]:
        """The terms added at run time in a room (from the mirror)."""
        mark = f"{room_id}\t"
        return sorted(t[len(mark) :] for t in self.state.filter_terms if t.startswith(mark))

    def terms(self, room_id: str) -> list[str]:
        return self.configured.get(room_id, []) + self.added(room_id)

    def _compiled(self) -> dict[str, list[regex.Pattern[str]]]:
        if self._built != self.state.filter_terms:
            patterns: dict[str, list[regex.Pattern[str]]] = {}
            for room_id in set(self.configured) | {
                t.split("\t", 1)[0] for t in self.state.filter_terms
            }:
                for term in self.terms(room_id):
                    try:
                        patterns.setdefault(room_id, []).append(compile_term(term))
                    except TermError:  # refused when added; one bad entry must not stop others
                        log.warning("room %s: a filter term does not compile; skipped", room_id)
            self._patterns, self._built = patterns, self.state.filter_terms
        return self._patterns

    def active(self) -> bool:
        return bool(self._compiled())

    def matches(self, room_id: str, texts: Iterable[str]) -> bool:
        """Whether a term of the room matches one of ``texts``; a term that runs out of time
        counts as a match (held for a moderator to look at, never crossing unseen)."""
        patterns = self._compiled().get(room_id)
        if not patterns:
            return False
        candidates = [t for t in texts if t]
        for number, pattern in enumerate(patterns):
            for text in candidates:
                try:
                    if pattern.search(text, timeout=MATCH_TIMEOUT_S):
                        return True
                except TimeoutError:
                    log.warning("room %s: filter term %d ran out of time; held", room_id, number)
                    return True
        return False


def hold_of(origin: MsgRef, room: str) -> str:
    """The id of the hold of ``origin``'s copy into ``room``."""
    return f"{origin}>{room}"


class Holds:
    """Held copies: put aside with a notice, then released or dropped once."""

    def __init__(self, config: Config, redis: Redis) -> None:
        self.redis = redis
        self.ttl_s = max(config.retention.recent_hours, 1) * 3600

    async def hold(
        self, delivery: Delivery, target: RoomConfig, origin: RoomConfig, prefix: str
    ) -> Delivery:
        """Keep ``delivery`` aside; the notice for ``target``'s moderators instead. Named by
        the origin and the room (``<room>/<id>><target>``): a relay worker that plans twice
        holds once, and ``retract`` finds the held text to purge (bridge.moderation.purge)."""
        hold_id = hold_of(delivery.origin, delivery.room)
        await self.redis.set(keys.filter_hold(hold_id), delivery.model_dump_json(), ex=self.ttl_s)
        text = _(
            "A message from {room} was held by this room's word filter. Moderators: reply "
            "{release} to this notice to let it through, or {drop} to discard it.",
            room=origin.label,
            release=prefix + "release",
            drop=prefix + "drop",
        )
        return Delivery.to(
            target,
            key=f"filterheld:{delivery.key}",
            action="send",
            # recorded in the message map like a copy, so that a reply to it finds the hold
            origin=MsgRef(room=target.id, id=HELD_PREFIX + hold_id),
            text=render(text, target.language),
            language=target.language,
            notice=True,
        )

    async def take(self, hold_id: str) -> Delivery | None:
        """The held copy, removed (whoever asks second gets None)."""
        raw = await self.redis.getdel(keys.filter_hold(hold_id))
        return Delivery.model_validate_json(raw) if raw else None


async def screen(
    filters: FilterSet,
    holds: Holds,
    envelope: Envelope,
    room: RoomConfig,
    deliveries: list[Delivery],
    rooms: Mapping[str, RoomConfig],
    prefixes: Mapping[str, str],
) -> list[Delivery]:
    """``deliveries`` with each new copy that a filter of its room matches (in the room's
    language, or the original) replaced by its held notice."""
    if not deliveries or not filters.active():
        return deliveries
    out = []
    for d in deliveries:
        if d.action != "send" or d.notice or d.room not in rooms:
            out.append(d)
        elif filters.matches(d.room, (d.text, envelope.text)):
            target = rooms[d.room]
            out.append(await holds.hold(d, target, room, prefixes.get(target.bot, "/")))
        else:
            out.append(d)
    return out
