"""Polls, as the Bot API shapes them: sendPoll and stopPoll for bots; a member's poll, a
member's vote and a member closing their own poll for tests.

Limits as python-telegram-bot's ``PollLimit`` states them: a question of 1-300
characters, 2-12 options of 1-100 (Bot API 9.x; UTF-16 units, trimmed), with Telegram's 400
answers. A message shows its poll as ``poll``. Votes: the bot that sent a poll gets a ``poll``
update with the new state (per-option ``voter_count``, ``total_voter_count``) on every vote,
and a ``poll_answer`` update when the poll is not anonymous; no one else's bot hears of votes.
A closed poll (stopPoll, or its member author) takes no more votes; its sender's bot (and,
for a member's poll, the bots in the chat) get a ``poll`` update with ``is_closed``.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass, field

from sandbox.telegram.api import Api, method
from sandbox.telegram.entities import JSON, utf16_len
from sandbox.telegram.model import BotState, Chat, Message
from sandbox.telegram.params import Params
from sandbox.telegram.sending import post
from sandbox.telegram.world import ApiError, World, bad_request

QUESTION, OPTION, MIN_OPTIONS, MAX_OPTIONS = 300, 100, 2, 12
_IDS = itertools.count(5_000_000_000_000_000_001)


@dataclass
class Ballots:
    """Who voted for what in one poll (the sandbox's secret; Telegram's too)."""

    chat_id: int
    message_id: int
    by: dict[int, list[int]] = field(default_factory=dict)


_BALLOTS: weakref.WeakKeyDictionary[World, dict[str, Ballots]] = weakref.WeakKeyDictionary()


def make_poll(question: str, options: list[str], *, anonymous: bool, multiple: bool) -> JSON:
    """The Poll object, or Telegram's 400 for what is out of its limits."""
    question = question.strip()
    texts = [o.strip() for o in options]
    if not question or utf16_len(question) > QUESTION:
        raise bad_request(
            "poll question length must not exceed 300"
            if question
            else "poll question must be non-empty"
        )
    if len(texts) < MIN_OPTIONS:
        raise bad_request("poll must have at least 2 option")
    if len(texts) > MAX_OPTIONS:
        raise bad_request("poll can't have more than 12 options")
    if any(not t or utf16_len(t) > OPTION for t in texts):
        raise bad_request("poll options length must not exceed 100")
    return {
        "id": str(next(_IDS)),
        "question": question,
        "type": "regular",
        "options": [
            {"text": t, "voter_count": 0, "persistent_id": str(i)} for i, t in enumerate(texts)
        ],
        "total_voter_count": 0,
        "is_closed": False,
        "allows_revoting": True,
        "members_only": False,
        "is_anonymous": anonymous,
        "allows_multiple_answers": multiple,
    }


def _options(params: Params) -> list[str]:
    raw = params.structured("options")
    if not isinstance(raw, list):
        raise bad_request("can't parse options JSON object")
    return [o.get("text", "") if isinstance(o, dict) else str(o) for o in raw]


@method("sendPoll")
def send_poll(api: Api, state: BotState, params: Params) -> object:
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    if getattr(chat, "polls_refused", False):
        raise bad_request("polls can't be sent to this chat")
    anonymous = params.raw("is_anonymous") in (None, True, "true", "True")
    poll = make_poll(
        params.text("question") or "",
        _options(params),
        anonymous=anonymous,
        multiple=params.flag("allows_multiple_answers"),
    )
    sent = post(api, state, chat, params, "sendPoll", text=None, entities=[], media={"poll": poll})
    _BALLOTS.setdefault(api.world, {})[poll["id"]] = Ballots(chat.id, sent["message_id"])
    return sent


def _poll_message(world: World, chat: Chat, message_id: int | None) -> Message:
    message = chat.visible(message_id)
    if message is None or not message.media or "poll" not in message.media:
        raise bad_request("message with poll to stop not found")
    return message


@method("stopPoll")
def stop_poll(api: Api, state: BotState, params: Params) -> object:
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    message = _poll_message(api.world, chat, params.integer("message_id"))
    if message.author_id != state.account.id:
        raise bad_request("message can't be edited")
    poll = message.media["poll"] if message.media else {}
    if poll["is_closed"]:
        raise bad_request("poll has already been closed")
    poll["is_closed"] = True
    return dict(poll)


def post_poll(
    world: World,
    chat_id: int,
    user_id: int,
    question: str,
    options: list[str],
    *,
    anonymous: bool = True,
    multiple: bool = False,
) -> JSON:
    """A member posts a poll; the bots in the chat see it as a message with ``poll``."""
    poll = make_poll(question, options, anonymous=anonymous, multiple=multiple)
    chat = world.chat(chat_id)
    message = world.store(chat, user_id, media={"poll": poll})
    _BALLOTS.setdefault(world, {})[poll["id"]] = Ballots(chat.id, message.message_id)
    world.publish(chat, message)
    return world.render(chat, message)


def vote(world: World, chat_id: int, message_id: int, user_id: int, choices: list[int]) -> JSON:
    """A member votes (``choices``: option indices; empty: takes the vote back). The poll's
    sender, if a bot, gets the new state; with the voter when the poll is not anonymous."""
    chat = world.chat(chat_id)
    message = _poll_message(world, chat, message_id)
    poll = message.media["poll"] if message.media else {}
    if poll["is_closed"]:
        raise ApiError(400, "Bad Request: poll is closed")
    if any(not 0 <= c < len(poll["options"]) for c in choices) or (
        len(choices) > 1 and not poll["allows_multiple_answers"]
    ):
        raise bad_request("invalid option")
    ballots = _BALLOTS[world][poll["id"]]
    ballots.by[user_id] = sorted(set(choices))
    if not choices:
        del ballots.by[user_id]
    for i, option in enumerate(poll["options"]):
        option["voter_count"] = sum(i in picked for picked in ballots.by.values())
    poll["total_voter_count"] = len(ballots.by)
    sender = world.bot_state(message.author_id)
    if sender is not None:
        world.enqueue(sender, "poll", dict(poll))
        if not poll["is_anonymous"]:
            answer = {
                "poll_id": poll["id"],
                "user": world.account(user_id).user(),
                "option_ids": sorted(set(choices)),
                "option_persistent_ids": [str(c) for c in sorted(set(choices))],
            }
            world.enqueue(sender, "poll_answer", answer)
    return dict(poll)


def close(world: World, chat_id: int, message_id: int) -> JSON:
    """The member who posted a poll closes it: the chat's bots get a ``poll`` update."""
    chat = world.chat(chat_id)
    message = _poll_message(world, chat, message_id)
    poll = message.media["poll"] if message.media else {}
    poll["is_closed"] = True
    for state in world.member_bots(chat):
        world.enqueue(state, "poll", dict(poll))
    return dict(poll)


def refuse_polls(world: World, chat_id: int) -> None:
    """Make sendPoll fail in a chat, as where a chat's settings forbid polls."""
    setattr(world.chat(chat_id), "polls_refused", True)  # noqa: B010 - a test's switch
