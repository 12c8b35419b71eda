"""What members post besides texts and the files of ``people``: video, audio, animations and
video notes (kept as they came, tags included, so that whatever strips them has to be the bot),
and places: a point, a venue, a live location and its moves (``edited_message`` updates, as
Telegram sends them while a live location is shared)."""

from __future__ import annotations

from sandbox.telegram import files, places
from sandbox.telegram.entities import CAPTION_LIMIT, JSON, detect, trim, utf16_len
from sandbox.telegram.model import Chat
from sandbox.telegram.world import ApiError, World, bad_request


class Posts:
    """Mixed into ``People``: the member's side of media and places."""

    world: World

    def _chat_of_member(self, chat_id: int, user_id: int) -> Chat:  # People's
        raise NotImplementedError

    def post_av(
        self,
        chat_id: int,
        user_id: int,
        kind: str,
        data: bytes,
        text: str = "",
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        duration: int = 0,
        width: int = 0,
        height: int = 0,
        declared_size: int | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        """A member posts a video, audio file, animation or video note (``kind``), with
        ``text`` as its caption (a video note takes none). Returns the message."""
        if kind not in files.AV_KINDS:
            raise ValueError(f"{kind} is not one of {files.AV_KINDS}")
        text, _ = trim(text, [])
        if kind == "video_note" and text:
            raise ValueError("a video note has no caption")
        if utf16_len(text) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
        stored = files.store(self.world, kind, data, file_name=file_name, mime_type=mime_type,
                             declared_size=declared_size, duration=duration, width=width,
                             height=height)  # fmt: skip
        return self._publish(chat_id, user_id, text, files.media(stored), reply_to)

    def post_place(
        self,
        chat_id: int,
        user_id: int,
        latitude: float,
        longitude: float,
        *,
        title: str = "",
        address: str = "",
        live_period: int | None = None,
        reply_to: int | None = None,
    ) -> JSON:
        """A member shares a point, a venue (``title`` and ``address``), or a live location
        (``live_period`` seconds). Returns the message."""
        where = places.point(latitude, longitude, live_period)
        content: JSON = {"location": where}
        if title or address:
            content = {"venue": places.venue(where, title, address), "location": where}
        return self._publish(chat_id, user_id, "", content, reply_to)

    def move_place(self, chat_id: int, message_id: int, latitude: float, longitude: float) -> JSON:
        """A live location moves: bots that see the chat get an edited_message update."""
        chat = self.world.chat(chat_id)
        message = chat.visible(message_id)
        if (
            message is None
            or not message.media
            or "live_period" not in message.media.get("location", {})
        ):
            raise bad_request("message can't be edited")
        live = message.media["location"]["live_period"]
        message.media = {"location": places.point(latitude, longitude, live)}
        message.edit_date = int(self.world.now())
        self.world.publish(chat, message, "edited_message")
        return self.world.render(chat, message)

    def _publish(
        self, chat_id: int, user_id: int, text: str, media: JSON, reply_to: int | None
    ) -> JSON:
        chat = self._chat_of_member(chat_id, user_id)
        replied = chat.visible(reply_to)
        if reply_to is not None and replied is None:
            raise ApiError(400, "Bad Request: message to be replied not found")
        reply, thread, topic = self.world.place(chat, replied, None)
        message = self.world.store(chat, user_id, text=text or None, entities=detect(text, []),
                                   media=media, reply_to=reply, thread_id=thread,
                                   is_topic_message=topic)  # fmt: skip
        self.world.publish(chat, message)
        return self.world.render(chat, message)
