"""The audit trail: every moderation action and every refused attempt, ids only, expiring.

One Redis stream (``tl:audit``) of flat entries: when, who (a sender id), room, message
(the platform id acted upon, if any), action, outcome ("done" / "refused" / ...), and a short
detail without message text. Entries older than ``retention.audit_days`` are trimmed away
(XADD MINID), so the trail expires as the safety rules ask.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from bridge.model import keys


def parse_since(since: str, now: float) -> float:
    """``1h``, ``30m``, ``7d`` (before ``now``) or ``YYYY-MM-DD`` (UTC) as Unix time."""
    match = re.fullmatch(r"(\d+)([mhd])", since.strip())
    if match:
        unit = {"m": 60, "h": 3600, "d": 86400}[match.group(2)]
        return now - int(match.group(1)) * unit
    try:
        day = datetime.strptime(since.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{since!r} is not 30m, 1h, 7d or YYYY-MM-DD") from None
    return day.timestamp()


@dataclass(frozen=True)
class AuditEntry:
    at: float
    who: str
    room: str
    action: str
    outcome: str
    message: str = ""
    detail: str = ""


class Audit:
    def __init__(self, redis: Redis, days: int) -> None:
        self.redis = redis
        self.keep_ms = days * 86_400_000

    async def record(
        self,
        who: str,
        room: str,
        action: str,
        outcome: str,
        *,
        message: str = "",
        detail: str = "",
    ) -> None:
        now_ms = int(time.time() * 1000)
        fields: dict[Any, Any] = {"who": who, "room": room, "action": action, "outcome": outcome,
                  "message": message, "detail": detail}  # fmt: skip
        await self.redis.xadd(
            keys.AUDIT, fields, minid=str(now_ms - self.keep_ms), approximate=False
        )

    async def read(self, since: float = 0.0, *, limit: int = 10_000) -> list[AuditEntry]:
        """Entries at or after ``since`` (Unix time), oldest first."""
        start = f"{int(since * 1000)}-0" if since else "-"
        raw = await self.redis.xrange(keys.AUDIT, min=start, max="+", count=limit)
        out = []
        for entry_id, fields in raw or []:
            at = int(str(entry_id).split("-", 1)[0]) / 1000
            f = {str(k): str(v) for k, v in (fields or {}).items()}
            names = ("who", "room", "action", "outcome", "message", "detail")
            out.append(AuditEntry(at, *(f.get(name, "") for name in names)))
        return out
