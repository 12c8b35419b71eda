"""Bot API methods about chats and files: getChat, getChatMember, getChatAdministrators,
getChatMemberCount, leaveChat, createForumTopic, sendChatAction, getFile."""

from __future__ import annotations

from sandbox.telegram import files
from sandbox.telegram.api import Api, method
from sandbox.telegram.model import BotState, render_full_chat, render_member
from sandbox.telegram.params import Params
from sandbox.telegram.people import open_topic
from sandbox.telegram.world import bad_request

TOPIC_COLORS = frozenset({7322096, 16766590, 13338331, 9367192, 16749490, 16478047})


@method("getChat")
def get_chat(api: Api, state: BotState, params: Params) -> object:
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    return render_full_chat(chat, api.world.accounts)


@method("getChatMember")
def get_chat_member(api: Api, state: BotState, params: Params) -> object:
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    account = api.world.account(params.integer("user_id", required=True) or 0)
    return render_member(chat, account)


@method("getChatAdministrators")
def get_chat_administrators(api: Api, state: BotState, params: Params) -> object:
    """The chat's administrators that aren't bots, as the Bot API documents it."""
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    admins = []
    for account_id, member in chat.members.items():
        account = api.world.accounts.get(account_id)
        if account and member.admin and not account.is_bot:
            admins.append(render_member(chat, account))
    return admins


@method("getChatMemberCount")
def get_chat_member_count(api: Api, state: BotState, params: Params) -> object:
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    return sum(1 for member in chat.members.values() if member.active)


@method("leaveChat")
def leave_chat(api: Api, state: BotState, params: Params) -> object:
    """The bot leaves: it gets my_chat_member, the chat a left_chat_member message."""
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    api.world.set_status(chat, state.account, "left", actor=state.account)
    api.record("leaveChat", state, chat.id)
    return True


@method("createForumTopic")
def create_forum_topic(api: Api, state: BotState, params: Params) -> object:
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    if not chat.is_forum:
        raise bad_request("the chat is not a forum")
    member = chat.members[state.account.id]
    if not (
        member.status == "creator"
        or (member.status == "administrator" and member.rights.get("can_manage_topics"))
    ):
        raise bad_request("not enough rights to create a topic")
    color = params.integer("icon_color") or 7322096
    if color not in TOPIC_COLORS:
        raise bad_request("TOPIC_ICON_COLOR_INVALID")
    name = params.text("name") or ""
    thread_id = open_topic(api.world, chat, name, state.account.id, color)
    api.record("createForumTopic", state, chat.id, thread_id)
    return {"message_thread_id": thread_id, "name": name, "icon_color": color}


@method("sendChatAction")
def send_chat_action(api: Api, state: BotState, params: Params) -> object:
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    thread_id = params.integer("message_thread_id")
    if thread_id is not None:  # as Telegram: the thread must exist
        api.world.place(chat, None, thread_id)
    return True


@method("getFile")
def get_file(api: Api, state: BotState, params: Params) -> object:
    info = files.file_info(api.world, params.text("file_id") or "")
    api.record("getFile", state, None)  # recorded, so that a test sees which files were fetched
    return info
