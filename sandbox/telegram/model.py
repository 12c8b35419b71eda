"""The in-memory state of the sandbox Telegram and how it looks as Bot API JSON objects.

Accounts (humans and bots), chats with their members and forum topics, messages, stored files
and their size limits, webhooks. `render_*` functions turn them into the shapes of
https://core.telegram.org/bots/api: User, Chat, ChatFullInfo, ChatMember and Message (with
reply_to_message one level deep).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

ANONYMOUS_ADMIN_ID = 1087968824  # GroupAnonymousBot: the sender shown for anonymous admins
ANONYMOUS_ADMIN: JSON = {
    "id": ANONYMOUS_ADMIN_ID,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
ACTIVE = frozenset({"creator", "administrator", "member"})
DEFAULT_UPDATES = frozenset(
    {"message", "edited_message", "my_chat_member", "channel_post", "edited_channel_post",
     "poll", "poll_answer"}
)  # fmt: skip
"""What a bot gets when it never named allowed_updates (or named an empty list): everything but
chat_member, message_reaction and message_reaction_count (of what this sandbox produces)."""

ADMIN_RIGHTS: JSON = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
    "can_manage_topics": True,
}


@dataclass
class Account:
    """A Telegram user: a human member, or a bot (then it has a token)."""

    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False
    token: str | None = None
    can_read_all_group_messages: bool = True
    can_join_groups: bool = True
    language_code: str | None = None  # the person's app language (IETF tag), if they share it

    def user(self) -> JSON:
        """The User object."""
        user: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user


@dataclass
class Webhook:
    """A bot's webhook as setWebhook left it, and how delivering to it last went wrong."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class BotState:
    """What the Bot API keeps per bot: its update queue, getUpdates settings and webhook."""

    account: Account
    updates: deque[JSON] = field(default_factory=deque)
    next_update_id: int = 1
    allowed_updates: frozenset[str] | None = None  # None: DEFAULT_UPDATES
    webhook: Webhook | None = None  # set: updates are pushed, getUpdates answers 409
    poll_generation: int = 0
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    # setMyCommands' lists by language_code ("" for the default one)
    commands: dict[str, list[JSON]] = field(default_factory=dict)

    def wants(self, kind: str) -> bool:
        """Whether an update of this kind is queued for the bot now."""
        return kind in (self.allowed_updates or DEFAULT_UPDATES)


@dataclass
class Member:
    """One account's standing in a chat."""

    status: str  # creator, administrator, member, left, kicked
    rights: JSON = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def admin(self) -> bool:
        return self.status in ("creator", "administrator")


@dataclass
class Topic:
    """A forum topic; its id is the id of the message that created it."""

    thread_id: int
    name: str
    icon_color: int = 7322096


@dataclass
class Message:
    """A message as the chat stores it, with the real author even when it was sent anonymously."""

    message_id: int
    chat_id: int
    author_id: int
    sent_at: float  # server time, seconds
    text: str | None = None  # the text, or a media message's caption
    entities: list[JSON] = field(default_factory=list)
    media: JSON | None = None  # one field: {"photo": [...]}, {"document": {...}}, voice, sticker
    service: JSON | None = None  # e.g. {"new_chat_members": [...]}
    reply_to: int | None = None
    thread_id: int | None = None
    is_topic_message: bool = False
    anonymous: bool = False
    edit_date: int | None = None
    deleted: bool = False
    link_preview: JSON | None = None
    reactions: dict[int, list[str]] = field(default_factory=dict)  # reacting user -> emojis

    @property
    def date(self) -> int:
        return int(self.sent_at)


@dataclass
class Chat:
    """A group or supergroup (optionally a forum), its members, topics and messages."""

    id: int
    title: str
    type: str = "supergroup"
    is_forum: bool = False
    username: str | None = None
    members: dict[int, Member] = field(default_factory=dict)
    topics: dict[int, Topic] = field(default_factory=dict)
    messages: dict[int, Message] = field(default_factory=dict)
    next_message_id: int = 1
    migrated_to: int | None = None
    pinned: int | None = None

    def status(self, account_id: int) -> str:
        member = self.members.get(account_id)
        return member.status if member else "left"

    def is_admin(self, account_id: int) -> bool:
        member = self.members.get(account_id)
        return bool(member and member.admin)

    def visible(self, message_id: int | None) -> Message | None:
        """A message members can still see (not deleted), or None."""
        message = self.messages.get(message_id) if message_id is not None else None
        return message if message and not message.deleted else None

    def new_message_id(self) -> int:
        self.next_message_id += 1
        return self.next_message_id - 1


@dataclass
class FileLimits:
    """Telegram's file sizes in bytes; tests lower them to reach them with small files."""

    photo: int = 10 * 1024 * 1024  # a sendPhoto upload
    upload: int = 50 * 1024 * 1024  # any other upload (a larger one: 413)
    download: int = 20 * 1024 * 1024  # what getFile serves


@dataclass
class StoredFile:
    """Stored bytes behind a file_id, and the Message field they show as."""

    file_id: str
    file_unique_id: str
    kind: str  # photo, document, voice or sticker: the Message field
    data: bytes
    path: str
    mime_type: str | None = None
    file_name: str | None = None
    declared_size: int | None = None  # a size to report instead of len(data)
    shown: Any = None  # the field's value: PhotoSize list, Document, Voice or Sticker

    @property
    def size(self) -> int:
        return len(self.data) if self.declared_size is None else self.declared_size


def render_chat(chat: Chat) -> JSON:
    """The Chat object inside messages and updates (a private chat: the person's name)."""
    if chat.type == "private":
        return {"id": chat.id, "type": "private", "first_name": chat.title,
                **({"username": chat.username} if chat.username else {})}  # fmt: skip
    result: JSON = {"id": chat.id, "type": chat.type, "title": chat.title}
    if chat.username:
        result["username"] = chat.username
    if chat.is_forum:
        result["is_forum"] = True
    return result


def render_member(chat: Chat, account: Account) -> JSON:
    """The ChatMember object for an account in a chat (status "left" if it never joined)."""
    member = chat.members.get(account.id) or Member("left")
    result: JSON = {"status": member.status, "user": account.user()}
    if member.status == "creator":
        result["is_anonymous"] = bool(member.rights.get("is_anonymous", False))
    elif member.status == "administrator":
        result.update({**ADMIN_RIGHTS, **member.rights})
    elif member.status == "kicked":
        result["until_date"] = 0
    return result


def render_message(
    chat: Chat, message: Message, accounts: dict[int, Account], *, depth: int = 1
) -> JSON:
    """The Message object; `depth` 1 includes the message replied to (without its own reply)."""
    result: JSON = {"message_id": message.message_id, "date": message.date}
    if message.anonymous:
        result["from"] = dict(ANONYMOUS_ADMIN)
        result["sender_chat"] = render_chat(chat)
    elif message.author_id in accounts:
        result["from"] = accounts[message.author_id].user()
    result["chat"] = render_chat(chat)
    if message.thread_id is not None:
        result["message_thread_id"] = message.thread_id
    if message.is_topic_message:
        result["is_topic_message"] = True
    replied = chat.visible(message.reply_to)
    if replied is not None and depth > 0:
        result["reply_to_message"] = render_message(chat, replied, accounts, depth=depth - 1)
    if message.edit_date is not None:
        result["edit_date"] = message.edit_date
    if message.media is not None:
        result.update(message.media)
        if message.text:
            result["caption"] = message.text
            if message.entities:
                result["caption_entities"] = message.entities
    elif message.text is not None:
        result["text"] = message.text
        if message.entities:
            result["entities"] = message.entities
    if message.link_preview is not None:
        result["link_preview_options"] = message.link_preview
    if message.service:
        result.update(message.service)
    return result


def render_full_chat(chat: Chat, accounts: dict[int, Account]) -> JSON:
    """The ChatFullInfo object getChat answers with."""
    result = render_chat(chat)
    result.update(
        {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
            "permissions": {
                "can_send_messages": True,
                "can_send_audios": True,
                "can_send_documents": True,
                "can_send_photos": True,
                "can_send_videos": True,
                "can_send_video_notes": True,
                "can_send_voice_notes": True,
                "can_send_polls": True,
                "can_send_other_messages": True,
                "can_add_web_page_previews": True,
                "can_change_info": False,
                "can_invite_users": True,
                "can_pin_messages": False,
                "can_manage_topics": False,
            },
        }
    )
    pinned = chat.visible(chat.pinned)
    if pinned is not None:
        result["pinned_message"] = render_message(chat, pinned, accounts, depth=0)
    return result


def member_view(chat: Chat, message: Message, accounts: dict[int, Account]) -> JSON:
    """A message as a test reads it: who wrote it, what it says (or its caption), what it
    replies to, and its photo, document, voice or sticker field as bots get it."""
    author = accounts.get(message.author_id)
    if message.anonymous:
        author_id, name, username = ANONYMOUS_ADMIN_ID, chat.title, None
    else:
        author_id = message.author_id
        name = author.first_name if author else str(author_id)
        username = author.username if author else None
    counts: dict[str, int] = {}
    for emojis in message.reactions.values():
        for emoji in emojis:
            counts[emoji] = counts.get(emoji, 0) + 1
    # in a forum topic Telegram shows the topic's first message as replied to; a reader doesn't
    topic_root = message.is_topic_message and message.reply_to == message.thread_id
    kind = "text"
    if message.media:
        kind = next(iter(message.media))
    if message.service:
        kind = "service"
    view: JSON = {
        "message_id": message.message_id,
        "date": message.date,
        "author_id": author_id,
        "author_name": name,
        "author_username": username,
        "is_bot": bool(author and author.is_bot),
        "sender_chat_id": chat.id if message.anonymous else None,
        "kind": kind,
        "text": message.text,
        "entities": list(message.entities),
        "reply_to": None if topic_root else message.reply_to,
        "thread_id": message.thread_id,
        "edit_date": message.edit_date,
        "service": next(iter(message.service)) if message.service else None,
        "reactions": counts,
    }
    view.update(message.media or {})
    return view
