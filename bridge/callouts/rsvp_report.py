"""Keeping an RSVP call-out's report current: its message is edited with the new counts, at
most once a minute (``EDIT_EVERY_S``), however many answers come.

An answer marks its occurrence due (``bridge.model.keys.RSVP_DUE``). On each scheduler tick
(on the call-out clock), for each due occurrence:

- while the report has not gone out yet, leaves it due: the report, when sent, shows the
  counts of that moment, and an edit follows for the answers after it;
- within a minute of the last edit, leaves it due, and does nothing more;
- else takes it (``bridge.infra.tally.claim``: one script notes the time of the edit in the
  counts' ``.edited`` and takes it off the due set, so that one process edits), and queues
  one edit of the report's message (the report's text again, with the counts of now) into
  the report room's outbox.

The deliverer edits a message through the message map: the report's ids (which the deliverer
noted as its delivery's sent record) are written there as the copy of a notice origin
``callout-report:<id>:<occurrence>`` in the report room, ids only, expiring with the rest.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import cast

from bridge.callouts import rsvp
from bridge.callouts.model import Callout, targets
from bridge.callouts.reports import Reports, report_text
from bridge.infra import tally
from bridge.model import keys
from bridge.model.envelope import Delivery, MsgRef
from bridge.model.i18n import Lines
from bridge.relay.maps import MapReader
from bridge.relay.notices import localize

log = logging.getLogger(__name__)

EDIT_EVERY_S = 60  # the report's message is edited at most this often


async def update_reports(reports: Reports, now: datetime, callouts: Mapping[str, Callout]) -> None:
    """Edit the reports whose counts changed, where a minute has passed since the last edit."""
    redis = reports.redis
    for member in [str(m) for m in await redis.smembers(keys.RSVP_DUE)]:
        callout_id, _sep, occ = member.partition("|")
        callout = callouts.get(callout_id)
        if callout is None:  # cancelled, or not ours to know: nothing to edit
            await redis.srem(keys.RSVP_DUE, member)
            continue
        report_key = f"callout-report:{callout.id}:{occ}"
        sent = cast(str | None, await redis.get(keys.sent(report_key)))
        if sent is None:
            if not await redis.exists(keys.callout_report_lock(callout.id, occ)):
                continue  # not reported yet: the report will show the counts
            if await redis.get(keys.callout_report_lock(callout.id, occ)) == "done":
                await redis.srem(keys.RSVP_DUE, member)  # reported nowhere (no report room)
            continue
        answers = rsvp.tally_of(callout.id, occ)
        if not await tally.claim(redis, answers, now.timestamp(), EDIT_EVERY_S):
            continue  # edited less than a minute ago (it stays due), or another process took it
        await _edit(reports, callout, occ, report_key, json.loads(sent), now)


async def _edit(
    reports: Reports, callout: Callout, occ: str, report_key: str, ids: list[str], now: datetime
) -> None:
    config, redis = reports.config, reports.redis
    where = callout.report_to or config.ops_room
    stored = [r for r in await reports.store.reports(callout.id, 20) if r["occurrence"] == occ]
    if where is None or not stored or not ids:
        return
    room = config.room(where)
    lines = [(str(s), str(label), str(why)) for s, label, why in stored[0]["lines"]]
    text = report_text(callout, occ, lines, len(targets(callout, config)))
    found = await rsvp.counts(redis, callout.id, occ)
    text = Lines((*text.parts, *rsvp.lines(callout, config, found)))
    shown = await localize(text, room.language, reports.translator)
    origin = MsgRef(room=room.id, id=report_key)
    delivery = Delivery.to(
        room, key=f"{report_key}:rsvp:{now.timestamp():.0f}", action="edit", origin=origin,
        text=shown, language=room.language, notice=True,
    )  # fmt: skip
    async with redis.pipeline(transaction=True) as pipe:
        keep = config.retention.message_map_days * 86400
        life = min(rsvp.RSVP_S, keep)
        await MapReader(redis).add_copies(
            pipe, origin, room.id, ids, keep_s=keep, life_s=life, pointers=False
        )
        pipe.xadd(keys.outbox(room.bot), {"d": delivery.model_dump_json()})
        await pipe.execute()
    log.info("call-out %s (%s): report edited with new RSVP counts", callout.id, occ)
