"""Matrix events as envelopes: what crosses, as what, and what never re-enters (no server)."""

from __future__ import annotations

from typing import Any

import pytest

from bots.matrix import PLATFORM
from bots.matrix.ingest import Where, joined, read_event
from bridge.model import media_note

WHERE = Where(bot="mx", chat="#berlin:example.org", own="@bridge:example.org", encrypted=True)


def event(content: dict[str, Any], kind: str = "m.room.message", **extra: Any) -> dict[str, Any]:
    return {"type": kind, "event_id": "$e1", "sender": "@ana:example.org",
            "origin_server_ts": 1_700_000_000_000, "content": content, **extra}  # fmt: skip


def read(source: dict[str, Any], **kw: Any) -> Any:
    found = read_event(source, WHERE, "Ana", **kw)
    return found.envelope if found is not None else None


def test_a_text_message_is_attributed_keyed_and_marked_encrypted() -> None:
    e = read(event({"msgtype": "m.text", "body": "Hola"}), admin=True)
    assert (e.kind, e.text, e.message_id, e.chat) == (
        "message",
        "Hola",
        "$e1",
        "#berlin:example.org",
    )
    assert e.key == "mx:mx:$e1"
    assert (e.sender.id, e.sender.name) == ("matrix:@ana:example.org", "Ana")
    assert e.encrypted
    assert e.admin
    assert e.ts == 1_700_000_000


def test_formatted_body_becomes_spans_and_a_reply_loses_its_fallback() -> None:
    html = "<mx-reply><blockquote>quoted</blockquote></mx-reply><b>Sí</b>, vamos"
    content = {"msgtype": "m.text", "body": "> <@ben:x> quoted\n\nSí, vamos",
               "format": "org.matrix.custom.html", "formatted_body": html,
               "m.relates_to": {"m.in_reply_to": {"event_id": "$parent"}}}  # fmt: skip
    e = read(event(content))
    assert e.text == "Sí, vamos"
    assert [(s.start, s.end, s.kind) for s in e.spans] == [(0, 2, "bold")]
    assert e.reply_to == "$parent"
    plain = read(event({**content, "format": None}))
    assert plain.text == "Sí, vamos"


def test_threads_reply_to_the_root_unless_a_genuine_reply() -> None:
    thread = {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True,
              "m.in_reply_to": {"event_id": "$latest"}}  # fmt: skip
    e = read(event({"msgtype": "m.text", "body": "en el hilo", "m.relates_to": thread}))
    assert e.reply_to == "$root"
    genuine = {**thread, "is_falling_back": False}
    e = read(event({"msgtype": "m.text", "body": "a ti", "m.relates_to": genuine}))
    assert e.reply_to == "$latest"


def test_an_emote_is_its_action_alone_the_relay_names_the_actor() -> None:
    html = "baila <i>fuerte</i>"
    e = read(event({"msgtype": "m.emote", "body": "baila fuerte",
                    "format": "org.matrix.custom.html", "formatted_body": html}))  # fmt: skip
    assert e.emote
    assert e.text == "baila fuerte"  # no display name, no user id: circles attribute
    assert [(s.start, s.end) for s in e.spans] == [(len("baila "), len(e.text))]


def test_edits_redactions_and_reactions_name_the_original() -> None:
    new = {"msgtype": "m.text", "body": "a las 8"}
    e = read(event({"msgtype": "m.text", "body": "* a las 8", "m.new_content": new,
                    "m.relates_to": {"rel_type": "m.replace", "event_id": "$orig"}}))  # fmt: skip
    assert (e.kind, e.message_id, e.text) == ("edit", "$orig", "a las 8")
    assert e.key == "mx:mx:$e1"  # the edit event's own id: each edit is its own envelope
    e = read(event({}, "m.room.redaction", redacts="$orig"))
    assert (e.kind, e.message_id) == ("delete", "$orig")
    e = read(event({"redacts": "$orig"}, "m.room.redaction"))  # room version 11 and later
    assert (e.kind, e.message_id) == ("delete", "$orig")
    e = read(event({"m.relates_to": {"rel_type": "m.annotation", "event_id": "$orig",
                                     "key": "🕊"}}, "m.reaction"))  # fmt: skip
    assert (e.kind, e.message_id, e.reaction) == ("reaction", "$orig", "🕊")


@pytest.mark.parametrize(
    ("body", "command", "args"),
    [("!share housing", "share", "housing"), ("/RETRACT", "retract", ""),
     ("!help  \n", "help", "")],
)  # fmt: skip
def test_commands_start_with_bang_or_slash(body: str, command: str, args: str) -> None:
    e = read(event({"msgtype": "m.text", "body": body,
                    "m.relates_to": {"m.in_reply_to": {"event_id": "$p"}}}))  # fmt: skip
    assert (e.kind, e.command, e.args, e.reply_to) == ("command", command, args, "$p")


def test_notices_own_events_and_junk_never_enter() -> None:
    assert read(event({"msgtype": "m.notice", "body": "a bridge's notice"})) is None
    assert read(event({"msgtype": "m.text", "body": "mine"}, sender=WHERE.own)) is None
    assert read(event({})) is None  # a redacted message
    assert read(event({"msgtype": "m.text", "body": "   "})) is None
    assert read(event({"msgtype": "m.text", "body": 42})) is None
    assert read(event({"msgtype": "m.text", "body": "x"}, event_id=None)) is None
    assert read(event({"membership": "join"}, "m.room.member")) is None
    new = {"msgtype": "m.notice", "body": "edited notice"}
    edit = {"rel_type": "m.replace", "event_id": "$o"}
    notice = {"msgtype": "m.notice", "body": "* x", "m.new_content": new, "m.relates_to": edit}
    assert read(event(notice)) is None


def test_files_are_named_for_download_and_too_large_ones_get_a_note() -> None:
    info = {"mimetype": "image/jpeg", "size": 5000, "w": 64, "h": 48}
    found = read_event(event({"msgtype": "m.image", "body": "foto.jpg", "url": "mxc://x/y",
                              "info": info}), WHERE, "Ana")  # fmt: skip
    assert found is not None
    assert found.fetch is not None
    assert (found.fetch.url, found.fetch.file) == ("mxc://x/y", None)
    media = found.envelope.media
    assert media is not None
    assert (media.kind, media.mime, media.size, media.width, media.height) == (
        "photo", "image/jpeg", 5000, 64, 48)  # fmt: skip
    assert found.envelope.text == ""  # no caption: the body is the file name
    secret = {"url": "mxc://x/z", "key": {"k": "k"}, "iv": "iv", "hashes": {"sha256": "h"}}
    found = read_event(event({"msgtype": "m.file", "body": "Plan for Friday",
                              "filename": "plan.pdf", "file": secret}), WHERE, "Ana")  # fmt: skip
    assert found is not None
    assert found.fetch is not None
    assert found.fetch.file == secret
    assert found.envelope.text == "Plan for Friday"  # a caption
    assert found.envelope.media is not None
    assert found.envelope.media.name == "plan.pdf"
    voice = {"msgtype": "m.audio", "body": "voz.ogg", "url": "mxc://x/v",
             "org.matrix.msc3245.voice": {}}  # fmt: skip
    found = read_event(event(voice), WHERE, "Ana")
    assert found is not None
    assert found.envelope.media is not None
    assert found.envelope.media.kind == "voice"
    huge = {"msgtype": "m.video", "body": "v.mp4", "url": "mxc://x/w",
            "info": {"size": PLATFORM.max_file + 1}}  # fmt: skip
    found = read_event(event(huge), WHERE, "Ana")
    assert found is not None
    assert found.fetch is None
    assert found.envelope.media is not None
    assert found.envelope.media.note == media_note.TOO_LARGE


def test_the_bot_joining_is_an_envelope_of_its_own() -> None:
    e = joined(WHERE, "!abc:example.org")
    assert (e.kind, e.chat, e.key) == ("joined", WHERE.chat, "mx:mx:joined:!abc:example.org")
    assert e.sender.is_bot
