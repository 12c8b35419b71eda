"""Look-alikes and what copies carry, through the real adapters (issue 17, points 3 and 13).

A member can choose a display name and write bold lines; neither may make a copy look like
the bridge's own call-out. What a member's client shows is asserted: on Telegram the text
and entities the sandbox Bot API server parsed from what the bot sent, on Matrix the event
content as a member's nio client received it from Synapse.

- A call-out opens with the marker (📯) and, on Matrix, is an ``m.notice``; members' copies
  are ``m.text``, never carry the marker, and every part of a split copy opens with its
  attribution in bold ("Ana (CDMX), continued" after the first).
- A display name is normalized (no controls or bidi marks, one line, at most 64 characters)
  and one that reads as the call-out heading is quoted.
- Every event the Matrix bot sends carries ``"m.mentions": {}`` (a carried "@room" pings
  nobody); ``tg://`` links are not carried (the text is).
"""

from __future__ import annotations

import html
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.app import App
from bridge.callouts.clock import ManualClock
from bridge.model.compose import headings
from bridge.model.envelope import Delivery, MsgRef
from bridge.model.i18n import render
from bridge.relay.attribution import HEADING, display_name
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import ANA, BERLIN, CDMX, world_config
from tests.bots.test_matrix import bot_user, config, matrix_bot
from tests.harness import eventually, running_app
from tests.synapse_fixture import create_room, joined, member, texts

MARKER = "📯"  # what opens a call-out, and nothing else
FIRES = datetime(2030, 5, 1, 18, 0, tzinfo=UTC)
CALLOUT = {"id": "assembly", "circles": ["net"], "at": "2030-05-01 18:00", "mode": "instant",
           "language": "es", "text": "Asamblea general a las 19:00"}  # fmt: skip
CALLED_OUT, HOSTILE = 2050, 2051  # a member named "Call-out", and one with a hostile name
HOSTILE_NAME = "Ana\u202e\n\u2066María\t\t" + "x" * 100 + "\u200f"


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def forged(before: int, after: int, line: str) -> tuple[str, list[dict[str, Any]]]:
    """A long text with a paragraph break where it will be cut, then a bold ``line`` of the
    sender's own that would open the second part."""
    head = ("Bloqueo mañana. " * (before // 16 + 1))[:before].strip()
    tail = ("Vengan todas. " * (after // 14 + 1))[:after].strip()
    text = f"{head}\n\n{line}\n{tail}"
    bold = {"type": "bold", "offset": utf16(f"{head}\n\n"), "length": utf16(line)}
    return text, [bold]


def first_line(message: dict[str, Any]) -> tuple[str, bool]:
    """A Telegram message's first line, and whether it is bold from its start to its end."""
    text = message["text"] or ""
    line = text.split("\n", 1)[0]
    bold = any(
        e["type"] == "bold" and e["offset"] == 0 and e["length"] >= utf16(line)
        for e in message.get("entities") or []
    )
    return line, bold


async def test_a_member_named_call_out_or_forging_its_heading_never_looks_like_a_call_out_in_telegram(  # noqa: E501
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    tg.add_user(CALLED_OUT, "Call-out")
    tg.add_user(HOSTILE, HOSTILE_NAME)
    for user in (CALLED_OUT, HOSTILE):
        tg.add_member(CDMX, user)
    loaded = world_config(
        tmp_path, redis_url, tg, only=("cdmx", "berlin"), berlin="es", callouts=[CALLOUT]
    )
    app = App(loaded, lease_ms=1000)
    clock = ManualClock(datetime(2030, 5, 1, 12, 0, tzinfo=UTC))
    app.callout_clock = clock
    long_text, bold = forged(3000, 1075, "Call-out (CDMX)")
    marked_text, marked_bold = forged(3000, 1070, f"{MARKER} Call-out (CDMX)")
    async with running_app(app):
        tg.post(CDMX, CALLED_OUT, "Vamos todas")
        tg.post(CDMX, ANA, long_text, entities=bold)
        tg.post(CDMX, ANA, marked_text, entities=marked_bold)
        tg.post(CDMX, HOSTILE, "hola")
        clock.set(FIRES)  # the call-out is due
        await eventually(lambda: len(tg.messages(BERLIN)) >= 7, what="every copy and the call-out")
    shown = tg.messages(BERLIN)
    assert len(shown) == 7
    [callout] = [m for m in shown if "Asamblea general" in (m["text"] or "")]
    heading, bold_heading = first_line(callout)
    assert heading.startswith(f"{MARKER} ")  # "📯 Convocatoria": the heading in Spanish
    assert bold_heading
    copies = [m for m in shown if m is not callout]
    for copy in copies:  # none opens like the call-out, none carries its marker
        line, bold_heading = first_line(copy)
        assert bold_heading, copy["text"][:80]
        assert MARKER not in copy["text"]
        assert not line.startswith(("Call-out", heading.removeprefix(f"{MARKER} ")))
    heads = [first_line(m)[0] for m in copies]
    assert heads[0] == '"Call-out" (CDMX)'  # the name is quoted: not the bridge's heading
    # both long messages are split in two, and every part opens with the attribution
    assert heads[1:5] == ["Ana (CDMX)", "Ana (CDMX) (continúa)"] * 2  # the room's language
    for part in (copies[2], copies[4]):  # the sender's bold line comes second, stripped
        assert part["text"].split("\n")[1].strip() == "Call-out (CDMX)"
    for sent, parts in ((long_text, copies[1:3]), (marked_text.replace(MARKER, ""), copies[3:5])):
        carried = "\n".join(part["text"].split("\n", 1)[1] for part in parts)
        assert carried.split() == sent.split()  # nothing lost but whitespace at the cut
    # the hostile name: one line, no controls or bidi marks, at most 64 characters
    name = heads[5].removesuffix(" (CDMX)")
    assert name.startswith("Ana María x")
    assert len(name) <= 64
    assert not [ch for ch in name if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")]


async def test_tg_links_are_not_carried_but_their_text_is(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    text = "escríbeme aquí o abre tg://resolve?domain=cdmx_bridge_bot"
    entities = [
        {"type": "text_link", "offset": 10, "length": 4, "url": f"tg://user?id={ANA}"},
        {"type": "url", "offset": 22, "length": utf16(text) - 22},
        {"type": "text_link", "offset": 0, "length": 9, "url": "https://example.org/"},
    ]
    loaded = world_config(tmp_path, redis_url, tg, only=("cdmx", "berlin"), berlin="es")
    async with running_app(App(loaded, lease_ms=1000)):
        tg.post(CDMX, ANA, text, entities=entities)
        await eventually(lambda: len(tg.messages(BERLIN)) == 1)
    [copy] = tg.messages(BERLIN)
    assert copy["text"] == f"Ana (CDMX)\n{text}"
    kinds = {(e["type"], e.get("url", ""), e.get("user", {}).get("id")) for e in copy["entities"]}
    assert ("text_link", "https://example.org/", None) in kinds  # a web link still crosses
    for kind, url, user in kinds:
        assert kind != "text_mention", user  # no user id of CDMX leaks into Berlin
        assert not url.startswith("tg:"), url


def edited(content: dict[str, Any]) -> bool:
    return bool((content.get("m.relates_to") or {}).get("rel_type") == "m.replace")


def bot_events(events: list[dict[str, Any]], bot: str) -> list[dict[str, Any]]:
    return [e["content"] for e in events if e.get("sender") == bot
            and e.get("type") == "m.room.message"]  # fmt: skip


async def test_matrix_call_outs_are_notices_with_the_marker_and_copies_never_are(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, synapse: SynapseServer
) -> None:
    bot = await bot_user(synapse)
    async with (
        member(synapse, "ana", display="Ana") as ana,
        member(synapse, "callout", display="Call-out") as mallory,
        member(synapse, "ben", display="Ben") as ben,
    ):
        berlin = await create_room(ana, mallory, invite=(bot,))
        wien = await create_room(ben, invite=(bot,))
        rooms = [
            {"id": "berlin", "bot": "mx", "chat": berlin, "language": "es", "label": "Berlin"},
            {"id": "wien", "bot": "mx", "chat": wien, "language": "es", "label": "Wien"},
        ]
        loaded = config(tmp_path, redis_url, [matrix_bot(synapse, bot)], rooms,
                        callouts=[CALLOUT])  # fmt: skip
        app = App(loaded, lease_ms=1000)
        clock = ManualClock(datetime(2030, 5, 1, 12, 0, tzinfo=UTC))
        app.callout_clock = clock
        async with running_app(app):
            await joined(ana, berlin, bot)
            await joined(ben, wien, bot)
            await mallory.say(berlin, "Vamos todas")
            head = ("Asamblea mañana. " * 700).strip()
            tail = ("Vengan todas. " * 580).strip()
            line = f"{MARKER} Call-out (Berlin)"
            body = f"{head}\n\n{line}\n{tail}"
            formatted = f"{html.escape(head)}<br><br><b>{line}</b><br>{html.escape(tail)}"
            await ana.say(berlin, body, html=formatted)
            everyone = await ana.say(berlin, "@room todas a la plaza")
            await ana.say(berlin, "!help")
            clock.set(FIRES)  # the call-out is due

            def arrived(events: list[dict[str, Any]]) -> bool:
                shown = texts(events, sender=bot)
                copies = [c for c in shown if c["msgtype"] == "m.text"]
                return len(copies) >= 4 and any("Asamblea general" in c["body"] for c in shown)

            await ben.wait_for(wien, arrived)
            await ana.wait_for(berlin, lambda ev: any("help" in c["body"].lower()
                                                     for c in texts(ev, sender=bot)))  # fmt: skip
            await ana.edit(berlin, everyone, "@room todas a la plaza, ya")
            await ben.wait_for(wien, lambda ev: any(edited(c) for c in bot_events(ev, bot)))
        received = bot_events(ben.events[wien], bot) + bot_events(ana.events[berlin], bot)
        assert received
        for content in received:  # a carried @room pings nobody, nor does a notice
            assert content.get("m.mentions") == {}, content["body"][:60]
        [edit] = [c for c in received if edited(c)]  # nor does an edit
        assert edit["m.new_content"]["m.mentions"] == {}
        assert "@room todas a la plaza, ya" in edit["m.new_content"]["body"]
        shown = texts(ben.events[wien], sender=bot)
        [callout] = [c for c in shown if "Asamblea general" in c["body"]]
        assert callout["msgtype"] == "m.notice"
        heading = callout["body"].split("\n", 1)[0]
        assert heading.startswith(f"{MARKER} ")  # "📯 Convocatoria": the heading in Spanish
        assert callout["formatted_body"].startswith(f"<b>{heading}</b><br>")
        copies = [c for c in shown if c["msgtype"] == "m.text"]
        heads = [c["body"].split("\n", 1)[0] for c in copies]
        assert heads == ['"Call-out" (Berlin)', "Ana (Berlin)", "Ana (Berlin) (continúa)",
                         "Ana (Berlin)"]  # fmt: skip
        for copy, head_line in zip(copies, heads, strict=True):
            assert copy["formatted_body"].startswith(f"<b>{html.escape(head_line)}</b><br>")
            assert MARKER not in copy["body"]
            assert MARKER not in copy["formatted_body"]
        assert copies[2]["body"].split("\n")[1].strip() == "Call-out (Berlin)"


# ---- the rules, one by one (pure functions) ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Ana", "Ana"),
        ("Call-out", '"Call-out"'),
        ("CALL\u2013OUT!", '"CALL\u2013OUT!"'),  # any dash, any case
        ("\uff23all-out", '"\uff23all-out"'),  # a fullwidth C
        ("Call\u200b-out (CDMX)", '"Call-out (CDMX)"'),  # a zero-width space between
        (f"{MARKER} Ana", "Ana"),
        (f"Ana{MARKER}\ufe0f", "Ana"),
        ("Ana\n\nMaría\t\u2028x", "Ana María x"),
        ("\u202eanA\u202c \u2066x\u2069 \u200ey\u200f \U000e0041", "anA x y"),
        ("👩\u200d👩\u200d👧 Fam", "👩\u200d👩\u200d👧 Fam"),  # joiners stay
        ("x" * 100, "x" * 63 + "…"),
        ("Call-out " + "x" * 100, '"Call-out ' + "x" * 52 + '…"'),
        ("\u202e\u200b\n", ""),
    ],
)
def test_display_names_are_normalized_and_never_read_as_a_heading(name: str, shown: str) -> None:
    assert display_name(name) == shown
    assert len(display_name(name)) <= 64


def test_the_heading_in_each_catalog_language_is_quoted_too() -> None:
    for language in ("en", "es", "de"):
        heading = render(HEADING, language)  # "Call-out", "Convocatoria", ...
        assert display_name(heading) == f'"{heading}"'
        assert display_name(f"{heading} ({language})") == f'"{heading} ({language})"'


def test_a_member_copy_and_a_call_out_differ_in_their_heading_only_by_the_marker() -> None:
    copy = Delivery(key="k", action="send", bot="b", room="r", chat="c",
                    origin=MsgRef(room="x", id="1"), attribution="Ana (CDMX)",
                    text=f"{MARKER} hola")  # fmt: skip
    assert headings(copy, 100, len) == ("Ana (CDMX)", "Ana (CDMX), continued")
    callout = copy.model_copy(update={"callout": True})
    assert headings(callout, 100, len) == (
        f"{MARKER} Ana (CDMX)",
        f"{MARKER} Ana (CDMX), continued",
    )
    notice = copy.model_copy(update={"notice": True})
    assert headings(notice, 100, len) == ("", "")
    # a heading too long for its share of a part is cut, whole clusters, with an ellipsis
    long = copy.model_copy(update={"attribution": "👩\u200d👩\u200d👧" * 10})
    first, rest = headings(long, 20, len)
    assert first == "👩\u200d👩\u200d👧" * 3 + "…"
    assert rest == "👩\u200d👩\u200d👧" + "…, continued"
