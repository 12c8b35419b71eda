"""Counting members without storing who they are: the one tally under reaction counts
(bridge.relay.reactions) and RSVP answers (bridge.callouts.rsvp).

A tally is two Redis hashes and a due set:

- the counts: ``<prefix><answer>`` -> how many, and ``.edited`` (when what shows the counts
  was last edited);
- the marks: a member's marker -> her current value, ``<answer>`` or ``<answer>\\t<tag>``
  (a tag says where the answer came from, e.g. a reaction rather than a command; it never
  says who);
- the due set (a set, or a sorted set by when the next edit may go): the tallies whose shown
  counts are behind.

A marker is an HMAC of the member's id under a random salt of that tally (``marker``), so a
member counts once and can change her answer, and a dump of Redis does not list who answered.

``move`` is one Lua script (the old count down, the new one up, the mark set, the tally due),
so two relay workers counting at once lose nothing and a handler run twice for one envelope
changes nothing more; ``only_from`` makes the move conditional on the member's current value
(a withdrawal that must not take back an answer given another way). ``claim`` takes a due
tally for an edit at most once every ``every`` seconds, also in one script, so that only one
process edits it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

_MOVE = """
local old = redis.call('HGET', KEYS[2], ARGV[1]) or ''
if old == ARGV[2] then return 0 end
if #ARGV > 6 then
  local allowed = false
  for i = 7, #ARGV do
    if old == ARGV[i] then allowed = true end
  end
  if not allowed then return 0 end
end
local function field(value) return ARGV[5] .. string.match(value, '^[^\\t]*') end
if old ~= '' then redis.call('HINCRBY', KEYS[1], field(old), -1) end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('HINCRBY', KEYS[1], field(ARGV[2]), 1)
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
if ARGV[6] == 'z' then
  redis.call('ZADD', KEYS[3], 'NX', 0, ARGV[4])
else
  redis.call('SADD', KEYS[3], ARGV[4])
end
return 1
"""

_CLAIM = """
local edited = tonumber(redis.call('HGET', KEYS[2], '.edited') or '0')
local next = edited + tonumber(ARGV[2])
if next > tonumber(ARGV[1]) then
  if ARGV[4] == 'z' then redis.call('ZADD', KEYS[1], 'XX', next, ARGV[3]) end
  return 0
end
local removed
if ARGV[4] == 'z' then
  removed = redis.call('ZREM', KEYS[1], ARGV[3])
else
  removed = redis.call('SREM', KEYS[1], ARGV[3])
end
if removed == 0 then return 0 end
redis.call('HSET', KEYS[2], '.edited', ARGV[1])
return 1
"""


@dataclass(frozen=True)
class Tally:
    """Where one tally lives: ``counts`` and ``marks`` (hash keys), ``prefix`` of its count
    fields, and its name ``member`` in the due set ``due`` (``ordered``: a sorted set)."""

    counts: str
    marks: str
    due: str
    member: str
    ttl: int  # seconds; every move renews the counts and marks for this long
    prefix: str = ""
    ordered: bool = False


def marker_of(salt: str, who: str, size: int = 32) -> str:
    """A member's marker: an HMAC of ``who`` under ``salt``, ``size`` hex digits."""
    return hmac.new(salt.encode(), who.encode(), hashlib.sha256).hexdigest()[:size]


async def marker(redis: Redis, salt_key: str, who: str, ttl: int) -> str:
    """``who``'s marker under the tally's salt at ``salt_key``, made (random) on first use;
    the salt lives as long as the marks (``ttl`` from now)."""
    await redis.set(salt_key, secrets.token_hex(16), nx=True, ex=ttl)
    salt = cast(str, await redis.getex(salt_key, ex=ttl))
    return marker_of(salt, who)


async def move(
    redis: Redis, tally: Tally, mark: str, value: str, *, only_from: tuple[str, ...] = ()
) -> bool:
    """Set the member's (``mark``) value to ``value`` ("" withdraws it); with ``only_from``,
    only when her current value is one of those. True when something changed."""
    changed = await redis.eval(
        _MOVE, 3, tally.counts, tally.marks, tally.due,
        mark, value, tally.ttl, tally.member, tally.prefix, "z" if tally.ordered else "s",
        *only_from,
    )  # fmt: skip
    return bool(changed)


async def claim(redis: Redis, tally: Tally, now: float, every: int) -> bool:
    """Take a due tally for one edit, when ``every`` seconds have passed since its last (noted
    in the counts' ``.edited``, now ``now``). Too early: it stays due (a sorted set notes when
    it may go); already taken by another process: False."""
    claimed = await redis.eval(
        _CLAIM, 2, tally.due, tally.counts, now, every, tally.member,
        "z" if tally.ordered else "s",
    )  # fmt: skip
    return bool(claimed)
