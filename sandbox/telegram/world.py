"""The sandbox Telegram's state and the rules that are the same for humans and bots.

Who is where (membership and its updates), where a new message goes (reply, forum topic,
reply thread), who gets told about it (update queues, allowed_updates, privacy mode), and the
errors the Bot API gives for unknown, migrated or foreign chats.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from sandbox.telegram.entities import JSON, command_of
from sandbox.telegram.model import (
    ADMIN_RIGHTS,
    Account,
    BotState,
    Chat,
    FileLimits,
    Member,
    Message,
    StoredFile,
    render_chat,
    render_member,
    render_message,
)

UPDATE_KINDS = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


class ApiError(Exception):
    """A Bot API error answer: HTTP status = error_code, and the description Telegram gives."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


class World:
    """Everything the sandbox Telegram knows, in memory, and the time it thinks it is."""

    def __init__(self) -> None:
        self.accounts: dict[int, Account] = {}
        self.bots: dict[str, BotState] = {}  # by token
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.file_limits = FileLimits()
        self.clock = 0.0  # seconds added to real time

    def now(self) -> float:
        """Server time (unix seconds), moved by `clock`."""
        return time.time() + self.clock

    # --- lookups ------------------------------------------------------------------------------

    def bot_state(self, account_id: int) -> BotState | None:
        account = self.accounts.get(account_id)
        return self.bots.get(account.token) if account and account.token else None

    def account(self, account_id: int) -> Account:
        if account_id not in self.accounts:
            raise bad_request("user not found")
        return self.accounts[account_id]

    def chat(self, ref: object) -> Chat:
        """A chat by id or @username, as the Bot API resolves chat_id (migrations included)."""
        chat: Chat | None = None
        if isinstance(ref, str) and ref.startswith("@"):
            name = ref[1:].lower()
            chat = next(
                (c for c in self.chats.values() if (c.username or "").lower() == name), None
            )
        else:
            try:
                chat = self.chats.get(int(str(ref)))
            except ValueError:
                chat = None
        if chat is None:
            raise bad_request("chat not found")
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        return chat

    def chat_for_bot(self, bot: Account, ref: object) -> Chat:
        """A chat the bot is in, or the 403 Telegram answers when it is not."""
        chat = self.chat(ref)
        status = chat.status(bot.id)
        kind = "supergroup" if chat.type == "supergroup" else "group"
        if status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if status not in ("creator", "administrator", "member"):
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        return chat

    def user_lookup(self, user_id: int) -> JSON | None:
        account = self.accounts.get(user_id)
        return account.user() if account else None

    def render(self, chat: Chat, message: Message) -> JSON:
        return render_message(chat, message, self.accounts)

    # --- updates ------------------------------------------------------------------------------

    def enqueue(self, bot: BotState, kind: str, payload: JSON) -> None:
        """Queues an update for a bot, if its allowed_updates take this kind."""
        if not bot.wants(kind):
            return
        bot.updates.append({"update_id": bot.next_update_id, kind: payload})
        bot.next_update_id += 1
        bot.wakeup.set()

    def member_bots(self, chat: Chat) -> Iterator[BotState]:
        for account_id, member in list(chat.members.items()):
            state = self.bot_state(account_id)
            if state is not None and member.active:
                yield state

    def sees(self, bot: Account, chat: Chat, message: Message) -> bool:
        """Whether a bot is told about a message (privacy mode included)."""
        if message.author_id == bot.id:
            return False
        if message.service or chat.type == "private":  # privacy mode is for groups
            return True
        author = self.accounts.get(message.author_id)
        if author is not None and author.is_bot and not message.anonymous:
            return False  # bots never see other bots' messages
        if bot.can_read_all_group_messages or chat.is_admin(bot.id):
            return True
        command = command_of(message.text, message.entities)
        if command is not None:
            return command[1] is None or command[1].lower() == (bot.username or "").lower()
        replied = chat.visible(message.reply_to)
        return bool(
            replied
            and replied.author_id == bot.id
            and not replied.anonymous
            and not replied.service
        )

    def publish(self, chat: Chat, message: Message, kind: str = "message") -> None:
        """Tells every member bot that sees it about a new (or edited) message."""
        payload: JSON | None = None
        for state in self.member_bots(chat):
            if self.sees(state.account, chat, message):
                payload = payload or self.render(chat, message)
                self.enqueue(state, kind, payload)

    # --- messages -----------------------------------------------------------------------------

    def place(
        self, chat: Chat, replied: Message | None, thread_id: int | None
    ) -> tuple[int | None, int | None, bool]:
        """Where a new message goes: (reply_to id, message_thread_id, is_topic_message).

        In a forum a message in a topic replies to the topic's creation message unless it
        replies to another one, as Telegram shows it; replying into a topic puts it there. In a
        plain supergroup a reply carries the id of its reply thread's first message."""
        reply_to = replied.message_id if replied else None
        if chat.is_forum:
            if thread_id is None and replied is not None and replied.is_topic_message:
                thread_id = replied.thread_id
            if thread_id is None:
                return reply_to, None, False
            if thread_id not in chat.topics:
                raise bad_request("message thread not found")
            return reply_to or thread_id, thread_id, True
        if chat.type != "supergroup":
            return reply_to, None, False
        if thread_id is not None:
            root = chat.visible(thread_id)
            if root is None:
                raise bad_request("message thread not found")
            return reply_to, root.thread_id or root.message_id, False
        if replied is not None:
            return reply_to, replied.thread_id or replied.message_id, False
        return None, None, False

    def store(self, chat: Chat, author_id: int, **fields: object) -> Message:
        """Adds a message to the chat's history (it is not published yet)."""
        message = Message(chat.new_message_id(), chat.id, author_id, self.now())
        for name, value in fields.items():
            setattr(message, name, value)
        chat.messages[message.message_id] = message
        return message

    def service(self, chat: Chat, actor_id: int, content: JSON) -> Message:
        """Stores and publishes a service message (member joined, pinned, topic created...)."""
        message = self.store(chat, actor_id, service=content)
        if "forum_topic_created" in content:
            message.thread_id, message.is_topic_message = message.message_id, True
        self.publish(chat, message)
        return message

    # --- membership ---------------------------------------------------------------------------

    def set_status(
        self,
        chat: Chat,
        account: Account,
        status: str,
        *,
        actor: Account,
        rights: JSON | None = None,
        announce: bool = True,
    ) -> None:
        """Changes a member's status, with the updates and service messages Telegram sends."""
        old = render_member(chat, account)
        was_active = chat.status(account.id) in ("creator", "administrator", "member")
        chat.members[account.id] = Member(status, dict(rights or {}))
        if not announce:
            return
        new = render_member(chat, account)
        change = {
            "chat": render_chat(chat),
            "from": actor.user(),
            "date": int(self.now()),
            "old_chat_member": old,
            "new_chat_member": new,
        }
        own = self.bot_state(account.id)
        if own is not None:
            self.enqueue(own, "my_chat_member", change)
        for state in self.member_bots(chat):
            if state is not own and chat.is_admin(state.account.id):
                self.enqueue(state, "chat_member", change)
        active = status in ("creator", "administrator", "member")
        if active and not was_active:
            self.service(chat, actor.id, {"new_chat_members": [account.user()]})
        elif was_active and not active:
            self.service(chat, actor.id, {"left_chat_member": account.user()})

    def default_actor(self, chat: Chat, member: Account) -> Account:
        """Who adds a member when no one is named: the owner, else an admin, else itself."""
        for wanted in ("creator", "administrator", "member"):
            for account_id, entry in chat.members.items():
                account = self.accounts.get(account_id)
                if entry.status == wanted and account and not account.is_bot:
                    return account
        return member

    def admin_rights(self, admin: bool, owner: bool) -> tuple[str, JSON]:
        if owner:
            return "creator", {}
        if admin:
            return "administrator", dict(ADMIN_RIGHTS)
        return "member", {}
