"""Telegram polls: a member's poll read into the envelope, a poll copy sent with sendPoll, and
the Bot API's ``poll`` updates read into vote envelopes.

Telegram counts a poll's votes itself and tells only the bot that sent it (a ``poll`` update
with per-option ``voter_count`` and ``total_voter_count`` on every vote, ``is_closed`` once
closed). So the bot remembers the polls it sent (``tl:bot:<id>:poll:<poll id>``: the
configured chat, topic and message id; ids only, for the message map's lifetime) and makes a
vote envelope only for those: a ``poll`` update about any other poll is dropped here.
``poll_answer`` (who voted, on non-anonymous polls) is not asked for: the counts are enough,
and who voted is not the bridge's business.

Where a chat refuses a poll (a 400 from sendPoll: polls forbidden there), the copy goes as
the numbered list the relay wrote in the delivery's text, answered with ``vote N``.
"""

from __future__ import annotations

import json
import logging
from typing import cast

from redis.asyncio import Redis
from telegram import Bot, Message, ReplyParameters
from telegram import Poll as TgPoll
from telegram.error import BadRequest

from bots.telegram.ids import outward
from bots.telegram.settings import chat_id
from bridge.model import keys
from bridge.model.envelope import Ballot, Delivery, Envelope, Poll, Sender

log = logging.getLogger(__name__)

POLLS_TTL_S = 90 * 86400  # how long a sent poll's votes are followed (as the message map)


def poll_of(message: Message) -> Poll | None:
    """A member's poll (a quiz too: it crosses as a plain poll, its answer not told)."""
    found = message.poll
    if found is None:
        return None
    return Poll.of(
        found.question,
        [o.text for o in found.options],
        multiple=found.allows_multiple_answers,
        anonymous=found.is_anonymous,
    )


async def send_poll(
    bot: Bot, redis: Redis, bot_id: str, chat: str, d: Delivery, reply: ReplyParameters | None
) -> Message | None:
    """The copy as a native poll, remembered for its votes; None when the chat refuses
    polls (the caller sends the numbered list instead)."""
    poll = d.poll
    assert poll is not None
    try:
        sent = await bot.send_poll(
            chat_id(chat),
            poll.question,
            list(poll.options),
            is_anonymous=poll.anonymous,
            allows_multiple_answers=poll.multiple,
            message_thread_id=d.topic,
            reply_parameters=reply,
        )
    except BadRequest as exc:
        log.warning(
            "telegram bot %s: chat %s refused a poll (%s); the numbered list goes instead",
            bot_id,
            chat,
            exc.message,
        )
        return None
    if sent.poll is not None:
        shown = outward(sent.message_id, chat != d.chat)  # bots.telegram.ids
        where = json.dumps({"chat": d.chat, "topic": d.topic, "id": shown})
        # one key a poll, expiring on its own (ids only)
        await redis.set(keys.bot_state(bot_id, f"poll:{sent.poll.id}"), where, ex=POLLS_TTL_S)
    return sent


async def vote_envelope(redis: Redis, bot_id: str, key: str, poll: TgPoll) -> Envelope | None:
    """A ``poll`` update about a poll this bot sent, as a vote envelope with the counts."""
    raw = cast(str | None, await redis.get(keys.bot_state(bot_id, f"poll:{poll.id}")))
    if raw is None:
        return None  # not this bot's poll: counts nothing
    where = json.loads(raw)
    ballot = Ballot(
        counts=tuple(o.voter_count for o in poll.options),
        voters=poll.total_voter_count,
        closed=poll.is_closed,
    )
    return Envelope(
        key=key,
        kind="vote",
        bot=bot_id,
        chat=where["chat"],
        topic=where["topic"],
        message_id=where["id"],
        sender=Sender(id=f"telegram:poll:{poll.id}"),
        ballot=ballot,
    )
