"""The /status page: ``translocal status`` as one small HTML page on the metrics port.

Self-contained (inline style, no script, no external resource: the server also sends a
Content-Security-Policy that forbids any), refreshing itself every ``REFRESH_S``. Every value
is escaped: room labels and bot reasons are text the operator, or a platform, wrote, and a
label like ``<script>`` shows as those characters. Like the CLI it shows ids, times and
counts: no message text, no user ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from html import escape

from bridge.ops.status import Status, due_text, health_text, when

REFRESH_S = 30

STYLE = (
    "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
    "th{background:#f3f3f3}.bad{color:#a00;font-weight:bold}"
)


def _table(caption: str, head: Iterable[str], rows: Iterable[Iterable[tuple[str, bool]]]) -> str:
    """A table; each cell is (text, shown as trouble)."""
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="bad">{escape(text)}</td>' if bad else f"<td>{escape(text)}</td>"
            for text, bad in row
        ) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<h2>{escape(caption)}</h2><table><tr>{th}</tr>{body}</table>"


def render_page(status: Status) -> str:
    now = status.at
    stamp = f"{datetime.fromtimestamp(now, UTC):%Y-%m-%d %H:%M:%S}Z"
    rooms = _table(
        "Rooms",
        ("room", "label", "platform", "language", "circles", "paused", "last in", "last out",
         "outbox", "dead letters"),
        (((r.id, False), (r.label, False), (r.platform, False), (r.language, False),
          (", ".join(r.circles) or "-", not r.circles), ("paused" if r.paused else "no", r.paused),
          (when(r.last_in, now), False), (when(r.last_out, now), False),
          (f"{r.outbox}{'+' if r.outbox_more else ''}", False),
          (str(r.dead_letters), r.dead_letters > 0))
         for r in status.rooms),
    )  # fmt: skip
    bots = _table(
        "Bots",
        ("bot", "platform", "outbox", "health"),
        (((b.id, False), (b.platform, False), (str(b.outbox), False),
          (health_text(b, now), b.health != "ok"))
         for b in status.bots),
    )  # fmt: skip
    callouts = _table(
        "Call-outs",
        ("id", "from", "next due (UTC)", "to"),
        (((c.id, False), (c.source, False), (due_text(c), False), (c.to, False))
         for c in status.callouts),
    )  # fmt: skip
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{REFRESH_S}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Translocal status</title><style>{STYLE}</style></head><body>"
        f"<h1>Translocal status</h1><p>At {escape(stamp)}; this page refreshes every "
        f"{REFRESH_S} s.</p>{rooms}{bots}{callouts}"
        f"<p>Dead letters: {status.dead_letters} (<code>translocal deadletters list</code>)</p>"
        "</body></html>\n"
    )
