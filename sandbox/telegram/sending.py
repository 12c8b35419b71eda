"""Bot API methods that post or change messages: sendMessage, editMessageText, deleteMessage,
pinChatMessage, unpinChatMessage, setMessageReaction; and what media methods share with them
(composing a text or caption, finding the message replied to or acted on, posting)."""

from __future__ import annotations

from sandbox.telegram.api import Api, method
from sandbox.telegram.entities import (
    CAPTION_LIMIT,
    JSON,
    TEXT_LIMIT,
    clean_entities,
    detect,
    trim,
    utf16_len,
)
from sandbox.telegram.markup import MarkupError, parse
from sandbox.telegram.model import BotState, Chat, Message, render_message
from sandbox.telegram.params import Params
from sandbox.telegram.world import bad_request

DELETE_WINDOW = 48 * 3600.0
PARSE_MODES = ("html", "markdownv2", "markdown")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def compose(api: Api, params: Params, field: str, entities_field: str) -> tuple[str, list[JSON]]:
    """A text or caption with its entities: parse_mode or explicit entities applied, trimmed,
    checked against Telegram's length limit, with auto-detected entities added."""
    raw = params.text(field) or ""
    mode = params.text("parse_mode")
    explicit = params.structured(entities_field)
    if explicit is not None:
        try:
            text, entities = raw, clean_entities(explicit, raw)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    elif mode:
        if mode.lower() not in PARSE_MODES:
            raise bad_request("unsupported parse_mode")
        try:
            text, entities = parse(raw, mode, api.world.user_lookup)
        except MarkupError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    else:
        text, entities = raw, []
    text, entities = trim(text, entities)
    if field == "text":
        if not text:
            raise bad_request("message text is empty")
        if utf16_len(text) > TEXT_LIMIT:
            raise bad_request("message is too long")
    elif utf16_len(text) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return text, detect(text, entities)


def reply_target(api: Api, chat: Chat, params: Params) -> Message | None:
    """The message replied to, from reply_parameters or the older reply_to_message_id."""
    reply = params.structured("reply_parameters")
    other: object = None
    if isinstance(reply, dict):
        message_id, allow = reply.get("message_id"), bool(reply.get("allow_sending_without_reply"))
        other = reply.get("chat_id")
    elif reply is not None:
        raise bad_request("can't parse reply parameters JSON object")
    else:
        message_id = params.integer("reply_to_message_id")
        allow = params.flag("allow_sending_without_reply")
    if message_id is None:
        return None
    replied = chat.visible(message_id) if isinstance(message_id, int) else None
    if other is not None and api.world.chat(other).id != chat.id:
        replied = None  # replies to other chats (external_reply) are not modelled
    if replied is None and not allow:
        raise bad_request("message to be replied not found")
    return replied


def post(
    api: Api, state: BotState, chat: Chat, params: Params, name: str, **content: object
) -> JSON:
    """Places, paces, stores and publishes a bot's new message; returns the Message."""
    replied = reply_target(api, chat, params)
    reply_to, thread_id, topic = api.world.place(chat, replied, params.integer("message_thread_id"))
    api.pace(state, chat)
    message = api.world.store(
        chat,
        state.account.id,
        reply_to=reply_to,
        thread_id=thread_id,
        is_topic_message=topic,
        **content,
    )
    api.world.publish(chat, message)
    api.record(name, state, chat.id, message.message_id)
    return api.world.render(chat, message)


def link_preview(params: Params) -> JSON | None:
    options = params.structured("link_preview_options")
    if isinstance(options, dict):
        return options
    if params.flag("disable_web_page_preview"):
        return {"is_disabled": True}
    return None


@method("sendMessage")
def send_message(api: Api, state: BotState, params: Params) -> object:
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    text, entities = compose(api, params, "text", "entities")
    return post(
        api,
        state,
        chat,
        params,
        "sendMessage",
        text=text,
        entities=entities,
        link_preview=link_preview(params),
    )


def target_message(api: Api, state: BotState, params: Params, missing: str) -> tuple[Chat, Message]:
    """The chat_id / message_id a call acts on, in a chat the bot is in (`missing`: the error
    when the message does not exist or was deleted)."""
    if params.has("inline_message_id"):
        raise bad_request("inline messages are not supported by this sandbox")
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    message = chat.visible(params.integer("message_id", required=True))
    if message is None:
        raise bad_request(missing)
    return chat, message


@method("editMessageText")
def edit_message_text(api: Api, state: BotState, params: Params) -> object:
    chat, message = target_message(api, state, params, "message to edit not found")
    if message.author_id != state.account.id or message.anonymous or message.service:
        raise bad_request("message can't be edited")
    if message.media is not None:
        raise bad_request("there is no text in the message to edit")
    text, entities = compose(api, params, "text", "entities")
    preview = link_preview(params) or message.link_preview
    if text == message.text and entities == message.entities and preview == message.link_preview:
        raise bad_request(NOT_MODIFIED)
    api.pace(state, chat)
    message.text, message.entities, message.link_preview = text, entities, preview
    message.edit_date = int(api.world.now())
    api.world.publish(chat, message, "edited_message")
    api.record("editMessageText", state, chat.id, message.message_id)
    return api.world.render(chat, message)


@method("deleteMessage")
def delete_message(api: Api, state: BotState, params: Params) -> object:
    """Own messages, or any with can_delete_messages; only within 48 hours of sending."""
    chat, message = target_message(api, state, params, "message to delete not found")
    own = message.author_id == state.account.id and not message.anonymous
    member = chat.members.get(state.account.id)
    may_delete = member is not None and (
        member.status == "creator"
        or (member.status == "administrator" and member.rights.get("can_delete_messages", False))
    )
    if not (own or may_delete) or api.world.now() - message.sent_at >= DELETE_WINDOW:
        raise bad_request("message can't be deleted")
    message.deleted = True
    if chat.pinned == message.message_id:
        chat.pinned = None
    api.record("deleteMessage", state, chat.id, message.message_id)
    return True


def _may_pin(chat: Chat, state: BotState) -> bool:
    member = chat.members.get(state.account.id)
    if member is None or not member.admin:
        return False
    return member.status == "creator" or bool(member.rights.get("can_pin_messages", False))


@method("pinChatMessage")
def pin_chat_message(api: Api, state: BotState, params: Params) -> object:
    chat, message = target_message(api, state, params, "message to pin not found")
    if not _may_pin(chat, state):
        raise bad_request("not enough rights to manage pinned messages in the chat")
    chat.pinned = message.message_id
    pinned = render_message(chat, message, api.world.accounts, depth=0)
    api.world.service(chat, state.account.id, {"pinned_message": pinned})  # sent silently or not
    api.record("pinChatMessage", state, chat.id, message.message_id)
    return True


@method("unpinChatMessage")
def unpin_chat_message(api: Api, state: BotState, params: Params) -> object:
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    if not _may_pin(chat, state):
        raise bad_request("not enough rights to manage pinned messages in the chat")
    message_id = params.integer("message_id")
    if message_id is None or chat.pinned == message_id:
        chat.pinned = None
    api.record("unpinChatMessage", state, chat.id, message_id)
    return True


@method("setMessageReaction")
def set_message_reaction(api: Api, state: BotState, params: Params) -> object:
    """A bot's reaction; Telegram tells no one about reactions set by bots."""
    chat, message = target_message(api, state, params, "message to react not found")
    reaction = params.structured("reaction") or []
    if not isinstance(reaction, list):
        raise bad_request("can't parse reaction types JSON object")
    emojis = [r["emoji"] for r in reaction if isinstance(r, dict) and r.get("type") == "emoji"]
    if len(emojis) > 1:
        raise bad_request("REACTIONS_TOO_MANY")
    if emojis:
        message.reactions[state.account.id] = emojis
    else:
        message.reactions.pop(state.account.id, None)
    api.record("setMessageReaction", state, chat.id, message.message_id)
    return True
