"""Bot API methods that send or change media: sendPhoto, sendDocument, sendVoice, sendSticker,
sendVideo, sendAudio, sendAnimation, editMessageCaption.

A file comes as an upload (up to 50 MB, a photo up to 10 MB) or as the file_id of a stored file
of the same kind; URLs are refused, as nothing leaves this machine. Captions follow the rules of
texts (parse_mode, entities, trimming) with Telegram's limit of 1024 UTF-16 code units.
"""

from __future__ import annotations

from sandbox.telegram import files
from sandbox.telegram.api import Api, method
from sandbox.telegram.entities import JSON
from sandbox.telegram.model import BotState, StoredFile
from sandbox.telegram.params import Params, upload
from sandbox.telegram.sending import NOT_MODIFIED, compose, post, target_message
from sandbox.telegram.world import bad_request


def _file(
    api: Api, params: Params, kind: str, *, duration: int = 0, emoji: str | None = None
) -> StoredFile:  # width and height, for video, as the sender gives them
    """The file of the call's `kind` field: an upload, stored, or a stored file_id."""
    source = upload(params, kind)
    if isinstance(source, str):
        return files.existing(api.world, source, kind)
    limit = api.world.file_limits.photo
    if kind == "photo" and len(source.data) > limit:
        raise bad_request(
            f"file of size {len(source.data)} bytes is too big for a photo; "
            f"the maximum size is {limit} bytes"
        )
    width, height = (max(0, params.integer(side) or 0) for side in ("width", "height"))
    return files.store_upload(
        api.world, source, kind, duration=duration, emoji=emoji, width=width, height=height
    )


def _send(
    api: Api,
    state: BotState,
    params: Params,
    kind: str,
    *,
    duration: int = 0,
    emoji: str | None = None,
) -> JSON:
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    caption, entities = (
        ("", [])  # stickers take no caption
        if kind == "sticker"
        else compose(api, params, "caption", "caption_entities")
    )
    stored = _file(api, params, kind, duration=duration, emoji=emoji)
    return post(
        api,
        state,
        chat,
        params,
        "send" + kind.capitalize(),
        text=caption or None,
        entities=entities,
        media=files.media(stored),
    )


@method("sendPhoto")
def send_photo(api: Api, state: BotState, params: Params) -> object:
    return _send(api, state, params, "photo")


@method("sendDocument")
def send_document(api: Api, state: BotState, params: Params) -> object:
    return _send(api, state, params, "document")


@method("sendVoice")
def send_voice(api: Api, state: BotState, params: Params) -> object:
    """A voice note; its duration is the one the sender gives (0 when it gives none)."""
    duration = max(0, params.integer("duration") or 0)
    return _send(api, state, params, "voice", duration=duration)


@method("sendVideo")
def send_video(api: Api, state: BotState, params: Params) -> object:
    """A video (MP4); its duration, width and height are the ones the sender gives."""
    return _send(api, state, params, "video", duration=max(0, params.integer("duration") or 0))


@method("sendAudio")
def send_audio(api: Api, state: BotState, params: Params) -> object:
    """A music file (MP3 or M4A), shown in the player; its duration as the sender gives it."""
    return _send(api, state, params, "audio", duration=max(0, params.integer("duration") or 0))


@method("sendAnimation")
def send_animation(api: Api, state: BotState, params: Params) -> object:
    """An animation (a silent MP4, or a GIF): shown as animation and as document."""
    duration = max(0, params.integer("duration") or 0)
    return _send(api, state, params, "animation", duration=duration)


@method("sendSticker")
def send_sticker(api: Api, state: BotState, params: Params) -> object:
    """A sticker: an uploaded static .WEBP (with its `emoji`), or a sticker's file_id."""
    return _send(api, state, params, "sticker", emoji=params.text("emoji"))


@method("editMessageCaption")
def edit_message_caption(api: Api, state: BotState, params: Params) -> object:
    """A new caption (empty: none) for the bot's own media message; the media stays."""
    chat, message = target_message(api, state, params, "message to edit not found")
    if message.author_id != state.account.id or message.anonymous or message.service:
        raise bad_request("message can't be edited")
    if message.media is None or "sticker" in message.media:
        raise bad_request("there is no caption in the message to edit")
    caption, entities = compose(api, params, "caption", "caption_entities")
    if (caption or None) == message.text and entities == message.entities:
        raise bad_request(NOT_MODIFIED)
    api.pace(state, chat)
    message.text, message.entities = caption or None, entities
    message.edit_date = int(api.world.now())
    api.world.publish(chat, message, "edited_message")
    api.record("editMessageCaption", state, chat.id, message.message_id)
    return api.world.render(chat, message)
