"""Moderation through the real Telegram adapter and the sandbox Bot API server: chat admins
are moderators (getChatAdministrators), members are refused, authors may retract."""

from __future__ import annotations

from pathlib import Path

import redis.asyncio

from bridge.moderation.audit import Audit
from sandbox.telegram import BotApiServer
from tests.bots.telegram_world import ANA, BERLIN, BOT_A, CDMX, JONAS, texts
from tests.bots.telegram_world import world_config as config
from tests.harness import eventually, running
from tests.helpers import BODY_CANARY

MODERATOR = 2050


def circle(relay: str) -> list[dict[str, object]]:
    return [{"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": relay}]


def answers(tg: BotApiServer, chat: int) -> list[str]:
    """What the CDMX bridge bot itself said in the chat."""
    return [m["text"] for m in tg.messages(chat) if m["author_id"] == BOT_A]


def said(tg: BotApiServer, start: str) -> bool:
    return any(t.startswith(start) for t in answers(tg, CDMX))


async def test_a_thread_crosses_only_when_an_admin_shares_it(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    tg.add_user(MODERATOR, "Mod")
    tg.add_member(CDMX, MODERATOR, admin=True)
    cfg = config(tmp_path, redis_url, tg, circles=circle("moderated"))
    async with running(cfg) as (_, net):
        root = tg.post(CDMX, ANA, f"Desalojo mañana en la calle Luna {BODY_CANARY}")
        tg.post(CDMX, ANA, "Traigan agua", reply_to=root["message_id"])

        # Ana is a member, not an admin: her /share is refused and nothing crosses
        tg.post(CDMX, ANA, "/share", reply_to=root["message_id"])
        await eventually(lambda: said(tg, "Solo quienes moderan esta sala pueden usar /share"))
        assert texts(tg, BERLIN) == []
        assert net.seen_in("nyc") == []

        # the chat's admin shares: the thread so far crosses, in order, then later replies
        tg.post(CDMX, MODERATOR, "/share@cdmx_bridge_bot", reply_to=root["message_id"])
        await eventually(lambda: len(texts(tg, BERLIN)) == 2 and len(net.seen_in("nyc")) == 2)
        berlin = texts(tg, BERLIN)
        assert "calle Luna" in berlin[0]
        assert "agua" in berlin[1]
        assert any(t.startswith("Compartido con") for t in answers(tg, CDMX))

        # Jonas answers from Berlin: it comes back into CDMX as a reply to Ana's message
        copy = tg.messages(BERLIN)[0]
        tg.post(BERLIN, JONAS, "Wir kommen mit Wasser", reply_to=copy["message_id"])
        await eventually(lambda: any("Wasser" in t for t in texts(tg, CDMX)))
        back = next(m for m in tg.messages(CDMX) if "Wasser" in m["text"])
        assert back["reply_to"] == root["message_id"]

        # Ana retracts her own message: the copies go, in Berlin and in NYC
        tg.post(CDMX, ANA, "/retract", reply_to=root["message_id"])
        await eventually(lambda: not any("calle Luna" in t for t in texts(tg, BERLIN)))
        await eventually(lambda: not any("calle Luna" in m.text for m in net.seen_in("nyc")))

    trail = [(e.who, e.action, e.outcome) for e in await Audit(redis_client, 90).read()]
    assert (f"telegram:{ANA}", "share", "refused") in trail
    assert (f"telegram:{MODERATOR}", "share", "done") in trail
    assert (f"telegram:{ANA}", "retract", "done") in trail


async def test_a_bot_added_to_its_configured_group_introduces_itself_once(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    async with running(config(tmp_path, redis_url, tg)):
        tg.remove_member(CDMX, BOT_A)
        tg.add_member(CDMX, BOT_A, admin=True, by=ANA)  # Ana adds the bridge bot
        tg.add_member(CDMX, BOT_A, admin=False, by=ANA)  # then changes its rights: no notice
        await eventually(lambda: any(t.startswith("Translocal conecta") for t in answers(tg, CDMX)))
        tg.post(CDMX, ANA, "/help")
        await eventually(
            lambda: any(t.startswith("Comandos de Translocal") for t in answers(tg, CDMX))
        )
    welcome = [t for t in answers(tg, CDMX) if t.startswith("Translocal conecta")]
    assert len(welcome) == 1
    assert "Berlin (alemán, Telegram)" in welcome[0]  # in CDMX's language
    assert "/help" in welcome[0]


async def test_share_after_the_buffer_carries_the_replied_to_message_and_says_so(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, tg: BotApiServer
) -> None:
    tg.add_user(MODERATOR, "Mod")
    tg.add_member(CDMX, MODERATOR, admin=True)
    # recent_hours 0: nothing is kept, as if every message were older than the buffer
    cfg = config(tmp_path, redis_url, tg, circles=circle("moderated"),
                 retention={"recent_hours": 0})  # fmt: skip
    async with running(cfg) as (_, net):
        old = tg.post(CDMX, ANA, "Una denuncia de hace días")
        tg.post(CDMX, MODERATOR, "/share", reply_to=old["message_id"])
        await eventually(lambda: any("denuncia" in t for t in texts(tg, BERLIN)))
        await eventually(lambda: said(tg, "Compartido con"))
        assert any("no se guardan" in t for t in answers(tg, CDMX))
        assert texts(tg, BERLIN)[0].startswith("Ana (CDMX)\nUna denuncia de hace días")
        tg.post(CDMX, ANA, "Y sigue", reply_to=old["message_id"])  # what follows crosses too
        await eventually(lambda: any("Y sigue" in t for t in texts(tg, BERLIN)))
        await eventually(lambda: len(net.seen_in("nyc")) == 2)
