"""What the humans in the sandbox do: set up chats, join, post (text, or a photo, document,
voice note or sticker; video, audio and places in ``posts``), edit, react, open topics,
upgrade a group. Tests drive these through
BotApiServer or the /_sandbox control API."""

from __future__ import annotations

from sandbox.telegram import files
from sandbox.telegram.entities import (
    CAPTION_LIMIT,
    JSON,
    TEXT_LIMIT,
    clean_entities,
    detect,
    trim,
    utf16_len,
)
from sandbox.telegram.model import (
    Account,
    BotState,
    Chat,
    Member,
    StoredFile,
    Topic,
    member_view,
    render_chat,
)
from sandbox.telegram.posts import Posts
from sandbox.telegram.world import ApiError, World, bad_request

MAX_SUPERGROUP = 10**10


class People(Posts):
    """The user side of the sandbox, acting on a World."""

    def __init__(self, world: World) -> None:
        self.world = world

    # --- setup --------------------------------------------------------------------------------

    def add_bot(
        self,
        token: str,
        username: str,
        *,
        first_name: str | None = None,
        can_read_all_group_messages: bool = True,
        can_join_groups: bool = True,
    ) -> JSON:
        """Registers a bot; its id is the number before ':' in the token. Returns its User."""
        head, _, secret = token.partition(":")
        if not head.isdigit() or not secret:
            raise ValueError("a bot token is <digits>:<secret>")
        account = Account(
            id=int(head),
            first_name=first_name or username,
            username=username,
            is_bot=True,
            token=token,
            can_read_all_group_messages=can_read_all_group_messages,
            can_join_groups=can_join_groups,
        )
        self.world.accounts[account.id] = account
        self.world.bots[token] = BotState(account)
        return account.user()

    def add_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        *,
        language_code: str | None = None,
    ) -> JSON:
        """Registers a human (``language_code``: their app language). Returns its User."""
        account = Account(id=user_id, first_name=first_name, username=username,
                          language_code=language_code)  # fmt: skip
        self.world.accounts[user_id] = account
        return account.user()

    def create_chat(
        self,
        chat_id: int,
        title: str,
        *,
        type: str = "supergroup",
        is_forum: bool = False,
        username: str | None = None,
    ) -> JSON:
        """Creates an empty group or supergroup (forums are supergroups). Returns its Chat."""
        if type not in ("group", "supergroup"):
            raise ValueError("type is group or supergroup")
        if is_forum and type != "supergroup":
            raise ValueError("only a supergroup can be a forum")
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = Chat(chat_id, title, type, is_forum, username)
        self.world.chats[chat_id] = chat
        return render_chat(chat)

    def open_private(self, user_id: int, bot_id: int) -> int:
        """A person starts a private chat with a bot (its id is the person's id); post into
        it with ``post(user_id, user_id, ...)``. One private chat per person here, shared by
        the bots they open it with."""
        user, bot = self.world.account(user_id), self.world.account(bot_id)
        chat = self.world.chats.get(user_id)
        if chat is None:
            chat = Chat(user_id, user.first_name, "private", username=user.username)
            self.world.chats[user_id] = chat
        chat.members[user_id] = chat.members[bot.id] = Member("member")
        return user_id

    def add_member(
        self,
        chat_id: int,
        member_id: int,
        *,
        admin: bool = False,
        owner: bool = False,
        by: int | None = None,
        announce: bool = True,
    ) -> None:
        """Puts a user or bot in a chat (or changes its rights there). With `announce`, bots
        get my_chat_member / chat_member updates and the chat a new_chat_members message."""
        chat = self.world.chat(chat_id)
        account = self.world.account(member_id)
        if account.is_bot and not account.can_join_groups and not chat.members.get(member_id):
            raise ApiError(403, "Forbidden: bot can't be added to groups")
        actor = self.world.accounts[by] if by is not None else None
        status, rights = self.world.admin_rights(admin, owner)
        self.world.set_status(
            chat,
            account,
            status,
            actor=actor or self.world.default_actor(chat, account),
            rights=rights,
            announce=announce,
        )

    def remove_member(
        self, chat_id: int, member_id: int, *, ban: bool = False, by: int | None = None
    ) -> None:
        """Removes (or bans) a member: the chat shows it left, its bot gets my_chat_member."""
        chat = self.world.chat(chat_id)
        account = self.world.account(member_id)
        actor = self.world.accounts[by] if by is not None else None
        self.world.set_status(
            chat,
            account,
            "kicked" if ban else "left",
            actor=actor or self.world.default_actor(chat, account),
        )

    # --- messages -----------------------------------------------------------------------------

    def _chat_of_member(self, chat_id: int, user_id: int) -> Chat:
        chat = self.world.chat(chat_id)
        if not chat.members.get(user_id) or not chat.members[user_id].active:
            raise ApiError(403, f"Forbidden: user {user_id} is not a member of the chat")
        return chat

    def post(
        self,
        chat_id: int,
        user_id: int,
        text: str = "",
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        entities: list[JSON] | None = None,
        anonymous_admin: bool = False,
        photo: bytes | None = None,
        document: tuple[str, bytes, str] | None = None,
        voice: bytes | None = None,
        sticker: bytes | None = None,
        sticker_emoji: str | None = None,
        declared_size: int | None = None,
    ) -> JSON:
        """A member posts a message; bots that see it get a message update. Returns it.

        With media the text is its caption (it may be empty): `photo` (PNG, GIF or JPEG bytes,
        kept unchanged, metadata included), `document` (file name, bytes, MIME type), `voice`
        (OGG/Opus bytes; the duration is read from them) or `sticker` (static WebP bytes, with
        `sticker_emoji`). `declared_size` is the file_size bots are told instead of the real
        one, to post a large file without allocating it."""
        chat = self._chat_of_member(chat_id, user_id)
        if anonymous_admin and not chat.is_admin(user_id):
            raise ApiError(403, "Forbidden: only administrators can post anonymously")
        attached = {"photo": photo, "document": document, "voice": voice, "sticker": sticker}
        kinds = [kind for kind, value in attached.items() if value is not None]
        if len(kinds) > 1:
            raise ValueError("a message has one photo, document, voice note or sticker")
        text, found = trim(text, clean_entities(entities, text) if entities is not None else [])
        if sticker is not None and text:
            raise ValueError("a sticker has no caption")
        _check_text(text, media=bool(kinds))
        replied = chat.visible(reply_to)
        if reply_to is not None and replied is None:
            raise bad_request("message to be replied not found")
        reply, thread, topic = self.world.place(chat, replied, thread_id)
        stored: StoredFile | None = None
        if photo is not None:
            stored = files.store(self.world, "photo", photo, declared_size=declared_size)
        elif document is not None:
            name, data, mime = document
            stored = files.store(
                self.world,
                "document",
                data,
                file_name=name,
                mime_type=mime,
                declared_size=declared_size,
            )
        elif voice is not None:
            duration = files.ogg_duration(voice)
            stored = files.store(
                self.world, "voice", voice, duration=duration, declared_size=declared_size
            )
        elif sticker is not None:
            stored = files.store(
                self.world, "sticker", sticker, emoji=sticker_emoji, declared_size=declared_size
            )
        message = self.world.store(
            chat,
            user_id,
            text=text or None,
            entities=found if entities is not None else detect(text, []),
            media=files.media(stored) if stored else None,
            reply_to=reply,
            thread_id=thread,
            is_topic_message=topic,
            anonymous=anonymous_admin,
        )
        self.world.publish(chat, message)
        return self.world.render(chat, message)

    def edit(self, chat_id: int, message_id: int, text: str) -> JSON:
        """The author edits a text, or a media message's caption (the media stays); bots that
        see it get an edited_message update."""
        chat = self.world.chat(chat_id)
        message = chat.visible(message_id)
        if message is None or message.service:
            raise bad_request("message to edit not found")
        if message.media is not None and "sticker" in message.media:
            raise bad_request("message can't be edited")
        text, _ = trim(text, [])
        _check_text(text, media=message.media is not None)
        message.text = text or None
        message.entities = detect(text, [])
        message.edit_date = int(self.world.now())
        self.world.publish(chat, message, "edited_message")
        return self.world.render(chat, message)

    def delete(self, chat_id: int, message_id: int) -> None:
        """Someone deletes a message: it is gone for everyone (bots are not told)."""
        message = self.world.chat(chat_id).visible(message_id)
        if message is None:
            raise bad_request("message to delete not found")
        message.deleted = True

    def react(
        self, chat_id: int, message_id: int, user_id: int, emoji: str | list[str] | None
    ) -> None:
        """A member sets its reaction (None: takes it back), or its reactions (a list: a
        Premium member's several; ``custom:<id>`` is a custom emoji). Admin bots that asked
        for message_reaction in allowed_updates get a message_reaction update."""
        chat = self._chat_of_member(chat_id, user_id)
        message = chat.visible(message_id)
        if message is None:
            raise bad_request("message to react not found")
        old = message.reactions.pop(user_id, [])
        new = list(emoji) if isinstance(emoji, list) else [emoji] if emoji else []
        if new:
            message.reactions[user_id] = new
        user = self.world.accounts[user_id]
        if user.is_bot:
            return  # Telegram does not report reactions set by bots
        payload = {
            "chat": render_chat(chat),
            "message_id": message_id,
            "user": user.user(),
            "date": int(self.world.now()),
            "old_reaction": [_reaction_type(e) for e in old],
            "new_reaction": [_reaction_type(e) for e in new],
        }
        for state in self.world.member_bots(chat):
            if chat.is_admin(state.account.id):
                self.world.enqueue(state, "message_reaction", payload)

    def create_topic(self, chat_id: int, name: str, *, by: int | None = None) -> int:
        """Opens a forum topic; returns its message_thread_id."""
        chat = self.world.chat(chat_id)
        actor = by if by is not None else self.world.default_actor(chat, Account(0, "?")).id
        return open_topic(self.world, chat, name, actor)

    def migrate(self, chat_id: int, *, by: int | None = None) -> int:
        """Upgrades a group to a supergroup; returns the new chat id. The old chat shows a
        migrate_to_chat_id message, the new one a migrate_from_chat_id message, and the old id
        answers every Bot API call with 400 and parameters.migrate_to_chat_id."""
        old = self.world.chat(chat_id)
        if old.type != "group":
            raise bad_request("chat is already a supergroup")
        number = abs(chat_id) % MAX_SUPERGROUP
        while -(10**12 + number) in self.world.chats:
            number = (number + 1) % MAX_SUPERGROUP
        new_id = -(10**12 + number)
        new = Chat(new_id, old.title, "supergroup")
        new.members = {k: Member(m.status, dict(m.rights)) for k, m in old.members.items()}
        self.world.chats[new_id] = new
        actor = by if by is not None else self.world.default_actor(old, Account(0, "?")).id
        self.world.service(old, actor, {"migrate_to_chat_id": new_id})
        old.migrated_to = new_id
        self.world.service(new, actor, {"migrate_from_chat_id": chat_id})
        return new_id

    def messages(self, chat_id: int, *, service: bool = False) -> list[JSON]:
        """What members see in a chat, oldest first: deleted messages gone, edits applied."""
        chat = self.world.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return [
            member_view(chat, message, self.world.accounts)
            for message in chat.messages.values()
            if not message.deleted and (service or not message.service)
        ]


def _check_text(text: str, *, media: bool) -> None:
    """A text, or a media message's caption (which may be empty), within Telegram's limits."""
    if media:
        if utf16_len(text) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
    elif not text:
        raise bad_request("message text is empty")
    elif utf16_len(text) > TEXT_LIMIT:
        raise bad_request("message is too long")


def open_topic(
    world: World, chat: Chat, name: str, actor_id: int, icon_color: int = 7322096
) -> int:
    """Creates a forum topic with its forum_topic_created message; returns its thread id."""
    if not chat.is_forum:
        raise bad_request("the chat is not a forum")
    if not 1 <= len(name) <= 128:
        raise bad_request("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_TOO_LONG")
    message = world.service(
        chat, actor_id, {"forum_topic_created": {"name": name, "icon_color": icon_color}}
    )
    chat.topics[message.message_id] = Topic(message.message_id, name, icon_color)
    return message.message_id


def _reaction_type(emoji: str) -> JSON:
    """A ReactionType as the Bot API writes it: an emoji, or ``custom:<id>`` a custom one."""
    if emoji.startswith("custom:"):
        return {"type": "custom_emoji", "custom_emoji_id": emoji.removeprefix("custom:")}
    return {"type": "emoji", "emoji": emoji}
