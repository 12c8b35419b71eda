"""The sandbox Telegram world the Bot API tests share: three bots (one in privacy mode), two
people and a Berlin supergroup, python-telegram-bot's real Bot pointed at the sandbox, and a
tiny PNG maker."""

from __future__ import annotations

import struct
import zlib

from telegram import Bot, Update
from telegram.request import HTTPXRequest

from sandbox.telegram import BotApiServer

TOKEN = "123456:" + "A" * 35
QUIET = "234567:" + "B" * 35  # privacy mode on
OTHER = "345678:" + "C" * 35
CHAT = -1001234567890
ANA, BEN = 11, 12


def tg_bot(server: BotApiServer, token: str = TOKEN, *, read_timeout: float = 5.0) -> Bot:
    def request() -> HTTPXRequest:
        return HTTPXRequest(connect_timeout=2.0, read_timeout=read_timeout)

    return Bot(
        token,
        base_url=f"{server.url}/bot",
        base_file_url=f"{server.url}/file/bot",
        request=request(),
        get_updates_request=request(),
    )


def setup_world(
    server: BotApiServer, *, chat_type: str = "supergroup", forum: bool = False
) -> None:
    server.add_bot(TOKEN, "relay_bot")
    server.add_bot(QUIET, "quiet_bot", can_read_all_group_messages=False)
    server.add_bot(OTHER, "other_bot")
    server.add_user(ANA, "Ana", "ana")
    server.add_user(BEN, "Ben")
    server.create_chat(CHAT, "Berlin", type=chat_type, is_forum=forum)
    server.add_member(CHAT, ANA, owner=True, announce=False)
    server.add_member(CHAT, BEN, announce=False)
    server.add_member(CHAT, 123456, announce=False)


async def take(bot: Bot, **kwargs: object) -> list[Update]:
    """Gets updates and confirms them."""
    got = await bot.get_updates(**kwargs)  # type: ignore[arg-type]
    if got:
        await bot.get_updates(offset=got[-1].update_id + 1, timeout=0)
    return list(got)


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x10\x80\xf0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
