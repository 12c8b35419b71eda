"""The relay's fast copies (a sibling of the first delivery) are exactly what the validated
constructor makes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.model.envelope import Delivery, MsgRef, Span
from bridge.model.settings import RoomConfig

ROOMS = [
    RoomConfig(id="berlin", bot="mx", chat="!b:x", language="de", label="Berlin"),
    RoomConfig(id="cdmx", bot="tg", chat="-1001", language="es", label="CDMX", topic=7),
]
texts = st.text(alphabet=st.characters(codec=None), max_size=40) | st.just("a\ud800b")
spans = st.lists(
    st.builds(
        Span,
        start=st.integers(0, 20),
        end=st.integers(0, 20),
        kind=st.sampled_from(["bold", "link", "code"]),
        url=st.none() | st.just("https://example.org"),
    ),
    max_size=3,
).map(tuple)


@settings(max_examples=200, deadline=None)
@given(
    room=st.sampled_from(ROOMS),
    text=texts,
    original=texts,
    attribution=texts,
    spans=spans,
    reply=st.none() | st.just(MsgRef(room="cdmx", id="9")),
    translated=st.booleans(),
    keep=st.booleans(),
)
def test_a_sibling_copy_is_the_validated_one(
    room: RoomConfig,
    text: str,
    original: str,
    attribution: str,
    spans: tuple[Span, ...],
    reply: MsgRef | None,
    translated: bool,
    keep: bool,
) -> None:
    fields = dict(
        key="e1>berlin",
        action="send",
        origin=MsgRef(room="nyc", id="1"),
        reply_to=reply,
        attribution=attribution,
        text=text,
        spans=spans,
        language=room.language,
        translated=translated,
        original=original,
        keep_encrypted=keep,
        received=12.5,
    )
    first = Delivery.to(ROOMS[0], **{**fields, "key": "e1>first", "text": "x", "spans": ()})
    per_room = {k: v for k, v in fields.items() if k not in ("action", "origin", "reply_to")}
    per_room.pop("received")
    fast, checked = first.sibling(room, **per_room), Delivery.to(room, **fields)
    assert fast == checked
    assert fast.model_dump_json(exclude_defaults=True) == checked.model_dump_json(
        exclude_defaults=True
    )
    assert "\ud800" not in fast.text + fast.original + fast.attribution
