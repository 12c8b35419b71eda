"""The sandbox Telegram Bot API server, driven by python-telegram-bot's real Bot over HTTP:
updates, sending and parsing, edits, deletes, reactions, topics, migration, files, tokens."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from telegram import Bot, ReactionTypeEmoji, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, InvalidToken

from sandbox.telegram import ANONYMOUS_ADMIN_ID, ApiError, BotApiServer
from sandbox.telegram.markup import MarkupError, parse
from tests.harness import eventually
from tests.sandbox.telegram_world import (
    ANA,
    BEN,
    CHAT,
    OTHER,
    QUIET,
    TOKEN,
    png,
    setup_world,
    take,
    tg_bot,
)


def _polls(server: BotApiServer, bot: Bot) -> int:
    """How many getUpdates calls of ``bot`` the server has taken in: a barrier that a poll is
    waiting there (a fixed sleep is not one on a loaded machine)."""
    state = server.world.bot_state(bot.id)
    return state.poll_generation if state is not None else 0


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "relay_bot", True)
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is True
    assert me.supports_inline_queries is False


async def test_posts_arrive_through_get_updates_and_offsets_confirm_them(
    server: BotApiServer, bot: Bot
) -> None:
    first = server.post(CHAT, ANA, "hallo")
    second = server.post(CHAT, BEN, "moin", reply_to=first["message_id"])
    got = await bot.get_updates()
    assert [u.message.text for u in got if u.message] == ["hallo", "moin"]
    reply = got[1].message
    assert reply is not None
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == first["message_id"]
    assert reply.from_user is not None
    assert reply.from_user.first_name == "Ben"
    assert reply.chat.id == CHAT
    assert reply.message_id == second["message_id"]
    # not confirmed yet: asked again, they come again
    assert [u.update_id for u in await bot.get_updates()] == [u.update_id for u in got]
    assert await bot.get_updates(offset=got[-1].update_id + 1) == ()
    assert await bot.get_updates(offset=got[0].update_id) == ()  # confirmed ones are gone

    loop = asyncio.get_running_loop()
    polls = _polls(server, bot)
    poll = asyncio.create_task(bot.get_updates(offset=got[-1].update_id + 1, timeout=10))
    await eventually(lambda: _polls(server, bot) > polls, what="the long poll waiting")
    started = loop.time()
    server.post(CHAT, ANA, "still there?")
    late = await asyncio.wait_for(poll, 5)
    assert loop.time() - started < 1.0  # the long poll answered as the post arrived
    assert [u.message.text for u in late if u.message] == ["still there?"]
    assert late[0].update_id == got[-1].update_id + 1


async def test_adding_a_bot_gives_my_chat_member_and_a_service_message(
    server: BotApiServer,
) -> None:
    server.add_member(CHAT, 345678, admin=True, by=ANA)
    async with tg_bot(server, OTHER) as other:
        got = await other.get_updates()
    change = got[0].my_chat_member
    assert change is not None
    assert change.new_chat_member.status == "administrator"
    assert change.old_chat_member.status == "left"
    assert change.from_user.id == ANA
    joined = got[1].message
    assert joined is not None
    assert [u.id for u in joined.new_chat_members] == [345678]


async def test_privacy_mode_shows_only_commands_and_replies_unless_admin(
    server: BotApiServer, bot: Bot
) -> None:
    server.add_member(CHAT, 234567, announce=False)
    async with tg_bot(server, QUIET) as quiet:
        server.post(CHAT, ANA, "just chatting")
        server.post(CHAT, ANA, "/help")
        server.post(CHAT, ANA, "/help@relay_bot")
        server.post(CHAT, ANA, "/status@quiet_bot now")
        own = await quiet.send_message(CHAT, "I am quiet")
        server.post(CHAT, BEN, "answering you", reply_to=own.message_id)
        seen = [u.message.text for u in await take(quiet) if u.message]
        assert seen == ["/help", "/status@quiet_bot now", "answering you"]
        # the other bot sees every human message, and never a bot's
        everything = [u.message.text for u in await take(bot) if u.message]
        assert everything == [
            "just chatting",
            "/help",
            "/help@relay_bot",
            "/status@quiet_bot now",
            "answering you",
        ]
        server.add_member(CHAT, 234567, admin=True, announce=False)
        server.post(CHAT, ANA, "now you see me")
        assert [u.message.text for u in await take(quiet) if u.message] == ["now you see me"]


async def test_send_message_parses_html_into_entities(server: BotApiServer, bot: Bot) -> None:
    sent = await bot.send_message(
        CHAT,
        '<b>Demo</b> at <a href="https://example.org/x">the square</a> &amp; 😀<i>now</i>',
        parse_mode="HTML",
    )
    assert sent.text == "Demo at the square & 😀now"
    kinds = [(e.type, e.offset, e.length) for e in sent.entities]
    assert kinds == [("bold", 0, 4), ("text_link", 8, 10), ("italic", 23, 3)]  # 😀 counts 2
    assert sent.entities[1].url == "https://example.org/x"
    shown = server.messages(CHAT)[-1]
    assert shown["text"] == sent.text
    assert shown["author_id"] == 123456
    assert shown["entities"][0] == {"type": "bold", "offset": 0, "length": 4}

    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "blink" at byte offset 0'):
        await bot.send_message(CHAT, "<blink>no</blink>", parse_mode="HTML")
    with pytest.raises(
        BadRequest, match=r"(?i)can't find end tag corresponding to start tag \"b\""
    ):
        await bot.send_message(CHAT, "<b>open", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: unmatched end tag"):
        await bot.send_message(CHAT, "<b><i>x</b></i>", parse_mode="HTML")
    assert len(server.messages(CHAT)) == 1  # nothing was sent by the refused calls


async def test_markdown_v2_and_reserved_characters() -> None:
    text, entities = parse("*bold* and _it_ \\. [link](https://x.org)", "MarkdownV2")
    assert text == "bold and it . link"
    assert [e["type"] for e in entities] == ["bold", "italic", "text_link"]
    with pytest.raises(MarkupError, match="reserved"):
        parse("end.", "MarkdownV2")


async def test_replies_and_forum_topics() -> None:
    async with BotApiServer(limits=False) as server:
        setup_world(server, forum=True)
        async with tg_bot(server) as forum_bot:
            topic = server.create_topic(CHAT, "Logistics", by=ANA)
            question = server.post(CHAT, ANA, "who brings the banner?", thread_id=topic)
            assert question["message_thread_id"] == topic
            assert question["is_topic_message"]
            answer = await forum_bot.send_message(
                CHAT,
                "I do",
                message_thread_id=topic,
                reply_parameters=ReplyParameters(question["message_id"]),
            )
            assert answer.message_thread_id == topic
            assert answer.is_topic_message
            assert answer.reply_to_message is not None
            assert answer.reply_to_message.message_id == question["message_id"]
            assert answer.reply_to_message.reply_to_message is None  # one level deep
            # a plain message in a topic shows the topic's first message as replied to
            plain = await forum_bot.send_message(CHAT, "see you", message_thread_id=topic)
            assert plain.reply_to_message is not None
            assert plain.reply_to_message.forum_topic_created is not None
            general = await forum_bot.send_message(CHAT, "general")
            assert general.message_thread_id is None
            assert not general.is_topic_message
            with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
                await forum_bot.send_message(CHAT, "lost", message_thread_id=999)
            with pytest.raises(BadRequest, match=r"(?i)not enough rights to create a topic"):
                await forum_bot.create_forum_topic(CHAT, "Bots")
            server.add_member(CHAT, 123456, admin=True, announce=False)
            made = await forum_bot.create_forum_topic(CHAT, "Bots")
            assert made.name == "Bots"
            assert made.message_thread_id in server.world.chats[CHAT].topics
            server.add_member(CHAT, 123456, announce=False)  # back to a plain member
            with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
                await forum_bot.send_message(CHAT, "to nothing", reply_to_message_id=999)
            shown = [(m["text"], m["reply_to"], m["thread_id"]) for m in server.messages(CHAT)]
            assert shown == [
                ("who brings the banner?", None, topic),
                ("I do", question["message_id"], topic),
                ("see you", None, topic),
                ("general", None, None),
            ]


async def test_text_limit_counts_utf16_units(server: BotApiServer, bot: Bot) -> None:
    await bot.send_message(CHAT, "a" * 4096)
    await bot.send_message(CHAT, "😀" * 2048)  # 4096 UTF-16 units
    await bot.send_message(CHAT, f"<b>{'b' * 4096}</b>", parse_mode="HTML")  # tags don't count
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "😀" * 2048 + "a")
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(CHAT, png(2, 2), caption="c" * 1025)
    assert len(server.messages(CHAT)) == 3


async def test_edit_own_message_and_not_modified(server: BotApiServer, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "meet at 5")
    edited = await bot.edit_message_text("meet at 6", chat_id=CHAT, message_id=sent.message_id)
    assert isinstance(edited, type(sent))
    assert edited.text == "meet at 6"
    assert edited.edit_date is not None
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("meet at 6", chat_id=CHAT, message_id=sent.message_id)
    human = server.post(CHAT, ANA, "mine")
    with pytest.raises(BadRequest, match=r"(?i)message can't be edited"):
        await bot.edit_message_text("hijack", chat_id=CHAT, message_id=human["message_id"])
    assert [m["text"] for m in server.messages(CHAT)] == ["meet at 6", "mine"]


async def test_a_users_edit_reaches_the_bot_as_edited_message(
    server: BotApiServer, bot: Bot
) -> None:
    posted = server.post(CHAT, ANA, "typo")
    await take(bot)
    server.edit(CHAT, posted["message_id"], "fixed")
    got = await take(bot)
    assert got[0].edited_message is not None
    assert got[0].edited_message.text == "fixed"
    assert got[0].edited_message.edit_date is not None
    assert server.messages(CHAT)[0]["text"] == "fixed"


async def test_delete_within_48_hours_only(server: BotApiServer, bot: Bot) -> None:
    fresh = await bot.send_message(CHAT, "oops")
    assert await bot.delete_message(CHAT, fresh.message_id) is True
    assert server.messages(CHAT) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(CHAT, fresh.message_id)
    old = await bot.send_message(CHAT, "old news")
    server.clock += 48 * 3600 + 1
    with pytest.raises(BadRequest, match=r"(?i)message can't be deleted"):
        await bot.delete_message(CHAT, old.message_id)
    assert [m["text"] for m in server.messages(CHAT)] == ["old news"]
    human = server.post(CHAT, ANA, "not yours")
    with pytest.raises(BadRequest, match=r"(?i)message can't be deleted"):
        await bot.delete_message(CHAT, human["message_id"])  # not an admin


async def test_reactions_reach_only_admin_bots_that_ask(server: BotApiServer, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "vote with 👍")
    await bot.get_updates(allowed_updates=["message", "message_reaction"])
    server.react(CHAT, sent.message_id, ANA, "👍")
    assert await take(bot) == []  # not an admin
    server.add_member(CHAT, 123456, admin=True, announce=False)
    server.react(CHAT, sent.message_id, ANA, "🔥")
    got = await take(bot)
    reaction = got[0].message_reaction
    assert reaction is not None
    assert reaction.message_id == sent.message_id
    assert reaction.user is not None
    assert reaction.user.id == ANA
    assert reaction.old_reaction == (ReactionTypeEmoji("👍"),)
    assert reaction.new_reaction == (ReactionTypeEmoji("🔥"),)
    await bot.get_updates(allowed_updates=[])  # back to the default: no reactions
    server.react(CHAT, sent.message_id, BEN, "❤")
    assert await take(bot) == []
    assert server.messages(CHAT)[0]["reactions"] == {"🔥": 1, "❤": 1}


async def test_anonymous_admin_posts_as_the_chat(server: BotApiServer, bot: Bot) -> None:
    with pytest.raises(ApiError, match="only administrators"):
        server.post(CHAT, BEN, "hidden", anonymous_admin=True)
    server.post(CHAT, ANA, "from the orga team", anonymous_admin=True)
    message = (await take(bot))[0].message
    assert message is not None
    assert message.from_user is not None
    assert message.from_user.id == ANONYMOUS_ADMIN_ID
    assert message.from_user.username == "GroupAnonymousBot"
    assert message.from_user.is_bot
    assert message.sender_chat is not None
    assert message.sender_chat.id == CHAT
    assert message.sender_chat.title == "Berlin"
    assert server.messages(CHAT)[0]["sender_chat_id"] == CHAT


async def test_migration_to_a_supergroup() -> None:
    async with BotApiServer(limits=False) as server:
        setup_world(server, chat_type="group")
        async with tg_bot(server) as group_bot:
            await group_bot.send_message(CHAT, "before")
            new_id = server.migrate(CHAT)
            assert str(new_id).startswith("-100")
            assert new_id != CHAT
            got = await take(group_bot)
            texts = [(u.message.chat.id, u.message.migrate_to_chat_id) for u in got if u.message]
            assert (CHAT, new_id) in texts
            moved = [u.message for u in got if u.message and u.message.migrate_from_chat_id]
            assert moved[0].chat.id == new_id
            assert moved[0].chat.type == "supergroup"
            with pytest.raises(ChatMigrated) as migrated:
                await group_bot.send_message(CHAT, "after")
            assert migrated.value.new_chat_id == new_id
            await group_bot.send_message(new_id, "after")
            assert [m["text"] for m in server.messages(new_id)] == ["after"]

        async with httpx.AsyncClient() as client:
            raw = await client.post(
                f"{server.url}/bot{TOKEN}/sendMessage", json={"chat_id": CHAT, "text": "x"}
            )
        assert raw.status_code == 400
        assert raw.json()["parameters"] == {"migrate_to_chat_id": new_id}


async def test_leave_chat(server: BotApiServer, bot: Bot) -> None:
    server.add_member(CHAT, 345678, announce=False)
    async with tg_bot(server, OTHER) as other:
        assert await bot.leave_chat(CHAT) is True
        mine = await take(bot)
        assert mine[0].my_chat_member is not None
        assert mine[0].my_chat_member.new_chat_member.status == "left"
        seen = await take(other)
        left = seen[0].message
        assert left is not None
        assert left.left_chat_member is not None
        assert left.left_chat_member.id == 123456
    with pytest.raises(Forbidden, match=r"(?i)bot is not a member of the supergroup chat"):
        await bot.send_message(CHAT, "still here?")
    server.remove_member(CHAT, 345678, ban=True)
    async with tg_bot(server, OTHER) as other:
        with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the supergroup chat"):
            await other.send_message(CHAT, "hello?")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(-100999, "nowhere")


async def test_unknown_token_is_unauthorized(server: BotApiServer) -> None:
    stranger = tg_bot(server, "999999:" + "Z" * 35)
    try:
        with pytest.raises(InvalidToken):
            await stranger.initialize()
    finally:
        await stranger.shutdown()
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{server.url}/bot999999:nope/getMe")
        json_body = await client.post(f"{server.url}/bot{TOKEN}/GETME", json={})
    assert answer.status_code == 401
    assert answer.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert json_body.json()["result"]["username"] == "relay_bot"  # names are case-insensitive


async def test_second_poll_ends_the_first_with_conflict(server: BotApiServer, bot: Bot) -> None:
    async with tg_bot(server) as twin:
        polls = _polls(server, bot)
        first = asyncio.create_task(bot.get_updates(timeout=5))
        await eventually(lambda: _polls(server, bot) > polls, what="the first poll waiting")
        second = asyncio.create_task(twin.get_updates(timeout=1))
        with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates"):
            await asyncio.wait_for(first, 3)
        server.post(CHAT, ANA, "for the survivor")
        assert [u.message.text for u in await second if u.message] == ["for the survivor"]


async def test_get_query_strings_and_negative_offsets(server: BotApiServer) -> None:
    for n in range(3):
        server.post(CHAT, ANA, f"n{n}")
    async with httpx.AsyncClient(base_url=f"{server.url}/bot{TOKEN}") as client:
        chat = (await client.get("/getChat", params={"chat_id": str(CHAT)})).json()
        assert chat["ok"] is True
        assert chat["result"]["title"] == "Berlin"
        last = (await client.get("/getUpdates", params={"offset": "-1"})).json()["result"]
        assert [u["message"]["text"] for u in last] == ["n2"]
        again = (await client.post("/getUpdates", data={"limit": "5"})).json()["result"]
        assert [u["update_id"] for u in again] == [u["update_id"] for u in last]  # rest forgotten
        unknown = await client.post("/noSuchMethod")
        assert unknown.status_code == 404
