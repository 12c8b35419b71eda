"""The sandbox operator's console: the clock, flood limits, faults and file size limits, and
what happened (429s and faults given, the call record, counters).

`Console` is the sandbox Telegram as the control API drives it: what the humans do (`People`)
plus what the operator does. It holds no server: `BotApiServer` adds serving over HTTP, so the
control API (`control`) can depend on this module while `server` depends on both.
"""

from __future__ import annotations

from collections import Counter

from sandbox.telegram.api import Api, Call
from sandbox.telegram.entities import JSON
from sandbox.telegram.faults import Faults
from sandbox.telegram.limits import RateLimiter, Refusal
from sandbox.telegram.model import FileLimits
from sandbox.telegram.people import People
from sandbox.telegram.world import World, bad_request


class Console(People):
    """The humans' actions and the operator's controls, over one World."""

    def __init__(self, world: World, limiter: RateLimiter, api: Api, fault_plan: Faults) -> None:
        super().__init__(world)
        self.limiter = limiter
        self.api = api
        self.fault_plan = fault_plan

    # --- time, limits, faults -----------------------------------------------------------------

    @property
    def clock(self) -> float:
        """Seconds added to real time: message dates, edit dates and the 48 h delete window."""
        return self.world.clock

    @clock.setter
    def clock(self, seconds: float) -> None:
        self.world.clock = float(seconds)

    def move_clock(self, *, advance: float = 0.0, offset: float | None = None) -> float:
        """Moves the clock forward by `advance` seconds, or sets its offset; returns it."""
        self.clock = (self.clock if offset is None else offset) + advance
        return self.clock

    def set_limits(self, *, enabled: bool | None = None, scale: float | None = None) -> JSON:
        """Switches the flood limits on or off, or changes their time scale (windows reset)."""
        if enabled is not None:
            self.limiter.enabled = enabled
        if scale is not None:
            if scale <= 0:
                raise ValueError("scale must be positive")
            self.limiter.scale = scale
            self.limiter.reset()
        return {"enabled": self.limiter.enabled, "scale": self.limiter.scale}

    def inject(self, method: str, *, status: int = 500, count: int = 1, hold: float = 0) -> None:
        """The next `count` calls of `method` answer `status` without acting; with `hold`,
        after holding the request that many seconds (a client with a shorter timeout gives up)."""
        self.fault_plan.inject(method, status=status, count=count, hold=hold)

    def faults(
        self,
        *,
        p_5xx: float = 0.0,
        p_429: float = 0.0,
        p_timeout: float = 0.0,
        timeout_s: float = 5.0,
        seed: int = 0,
        methods: list[str] | None = None,
    ) -> None:
        """Random faults: a fraction of calls (of `methods`, default all) answer 500/502, 429
        (retry_after 1), or are held `timeout_s` seconds and then answer 502, never acting."""
        self.fault_plan.configure(
            p_5xx=p_5xx,
            p_429=p_429,
            p_timeout=p_timeout,
            timeout_s=timeout_s,
            seed=seed,
            methods=methods,
        )

    def clear_faults(self) -> None:
        self.fault_plan.clear()

    @property
    def file_limits(self) -> FileLimits:
        """The photo, upload and download limits in bytes (their fields can be changed)."""
        return self.world.file_limits

    # --- what happened ------------------------------------------------------------------------

    @property
    def too_many(self) -> Counter[tuple[int, int]]:
        """429s given, by (bot id, chat id); chat 0 when a random 429 hit a call without one."""
        return self.limiter.too_many

    @property
    def refusals(self) -> list[Refusal]:
        """Every 429 the flood limits gave, with the rule and the exact wait."""
        return self.limiter.refusals

    @property
    def fault_counts(self) -> Counter[tuple[str, str]]:
        """Faults given, by (kind: "500", "502", "429" or "timeout"; lower-case method)."""
        return self.fault_plan.given

    @property
    def calls(self) -> list[Call]:
        """State-changing bot calls and file fetches, in the order they succeeded."""
        return self.api.calls

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes behind a file_id, as a download of it gives them."""
        stored = self.world.files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        return stored.data

    def updates_pending(self, token: str) -> list[JSON]:
        """A bot's queued (unconfirmed) updates, without confirming them."""
        return list(self.world.bots[token].updates)

    def queue_raw_update(self, token: str, fields: JSON) -> int:
        """Queues ``fields`` for a bot as one update, unchecked, with the next update_id (a
        client must survive what a newer or faulty Bot API sends); returns its update_id."""
        state = self.world.bots[token]
        update_id = state.next_update_id
        state.updates.append({"update_id": update_id, **fields})
        state.next_update_id += 1
        state.wakeup.set()
        return update_id

    def stats(self) -> JSON:
        """Counters and the call record, as JSON."""
        return {
            "too_many": [
                {"bot_id": bot, "chat_id": chat, "count": n}
                for (bot, chat), n in self.too_many.items()
            ],
            "faults": [
                {"kind": kind, "method": method, "count": n}
                for (kind, method), n in self.fault_counts.items()
            ],
            "calls": [vars(call) for call in self.calls],
            "limits": {"enabled": self.limiter.enabled, "scale": self.limiter.scale},
            "clock": self.clock,
        }
