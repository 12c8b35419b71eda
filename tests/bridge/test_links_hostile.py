"""``link CODE <language> <label> [timezone]`` against bad input and attacks, through the real
Linker and LinkStore on the shared Redis, on a clock the test moves: a non-admin, a racing
chat, guessed codes, a revoked or expired code, unknown languages and timezones, labels that
clash, a chat already served. Each refusal is one line, changes nothing, and is audited with
a code's hint only."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bridge.commands.links import Linker
from bridge.config.linked import is_linked
from bridge.config.models import Config
from bridge.infra.links import ALPHABET, CODE_TTL_S, LinkStore, hint, normalize
from bridge.model import keys
from bridge.model.i18n import render
from bridge.model.links import LinkAnswer, LinkRequest
from bridge.moderation.audit import Audit
from tests.harness import memory_config

T0 = 1_900_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def circles() -> list[dict[str, Any]]:
    return [{"id": "housing", "rooms": ["cdmx", "berlin"], "relay": "all"},
            {"id": "labour", "rooms": ["berlin", "nyc"], "relay": "all"}]  # fmt: skip


@pytest.fixture
def config(tmp_path: Path, redis_url: str) -> Config:
    return memory_config(tmp_path, redis_url, circles=circles()).config


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(redis_client: redis.asyncio.Redis, clock: Clock) -> LinkStore:
    return LinkStore(redis_client, clock)


@pytest.fixture
def linker(
    config: Config, redis_client: redis.asyncio.Redis, store: LinkStore, clock: Clock
) -> Linker:
    return Linker(config, redis_client, store, clock)


def ask(args: str, *, chat: str = "a9", admin: bool = True, hint_: str = "") -> LinkRequest:
    return LinkRequest(bot="a", chat=chat, sender="memory:lea", name="Lea", admin=admin,
                       args=args, hint=hint_)  # fmt: skip


def said(answer: LinkAnswer) -> str:
    return render(answer.text, answer.language)


async def code_for(store: LinkStore, circle: str = "housing") -> str:
    code = await store.invite(circle, "memory:mod", "berlin")
    assert code is not None
    return code


async def trail(redis_client: redis.asyncio.Redis) -> list[tuple[str, str, str, str]]:
    found = await Audit(redis_client, 90).read()
    return [(e.room, e.action, e.outcome, e.detail) for e in found]


async def test_a_member_who_is_not_an_admin_cannot_link(
    linker: Linker, store: LinkStore, config: Config, redis_client: redis.asyncio.Redis
) -> None:
    code = await code_for(store)
    answer = await linker(ask(f"{code} pt Porto", admin=False))
    assert answer.room is None
    assert said(answer) == "Só um administrador deste chat pode ligá-lo. Nada foi alterado."
    assert not is_linked(config, "porto")
    assert await store.circle_of(code) == "housing"  # the code is not spent
    assert ("a:a9", "link", "refused", "not an admin") in await trail(redis_client)


async def test_two_chats_racing_one_code_exactly_one_wins(
    linker: Linker, store: LinkStore, config: Config
) -> None:
    code = await code_for(store)
    first, second = await asyncio.gather(
        linker(ask(f"{code} pt Porto", chat="a8")), linker(ask(f"{code} pt Braga", chat="a9"))
    )
    won = [a for a in (first, second) if a.room is not None]
    lost = [a for a in (first, second) if a.room is None]
    assert len(won) == 1
    assert len(lost) == 1
    assert "usado ou expirado" in said(lost[0])
    assert len(await store.rooms()) == 1
    room = won[0].room
    assert room is not None
    assert [r.id for r in config.rooms].count(room.id) == 1


async def test_five_wrong_codes_refuse_the_chat_for_an_hour_even_with_the_right_one(
    linker: Linker, store: LinkStore, clock: Clock, config: Config
) -> None:
    code = await code_for(store)
    answers = [said(await linker(ask(f"tl-ZZZZ-Z{i} en Leeds"))) for i in range(5)]
    assert all("wrong, used or expired" in a for a in answers[:4])
    assert answers[4] == "Too many wrong codes from this chat: it cannot link for an hour."
    refused = await linker(ask(f"{code} en Leeds"))
    assert refused.room is None
    assert said(refused) == answers[4]
    assert not is_linked(config, "leeds")
    clock.now += 3600 + 1  # an hour later the right code works
    assert (await linker(ask(f"{code} en Leeds"))).room is not None
    assert is_linked(config, "leeds")


async def test_a_code_differing_in_one_character_fails(
    linker: Linker, store: LinkStore, config: Config
) -> None:
    code = await code_for(store)
    raw = normalize(code)
    assert raw is not None
    other = ALPHABET[(ALPHABET.index(raw[-1]) + 1) % len(ALPHABET)]
    near = f"tl-{raw[:4]}-{raw[4]}{other}"
    answer = await linker(ask(f"{near} de Leipzig"))
    assert answer.room is None
    assert "falsch, benutzt oder abgelaufen" in said(answer)
    assert not is_linked(config, "leipzig")
    assert await store.circle_of(code) == "housing"


async def test_a_revoked_code_and_an_expired_code_link_nothing(
    linker: Linker, store: LinkStore, clock: Clock, config: Config
) -> None:
    revoked = await code_for(store)
    assert await store.revoke("housing", revoked)
    assert (await linker(ask(f"{revoked} es Sevilla"))).room is None
    expired = await code_for(store)
    clock.now += CODE_TTL_S + 1
    answer = await linker(ask(f"{expired} es Sevilla"))
    assert answer.room is None
    assert "es incorrecto, ya se usó o caducó" in said(answer)
    assert not is_linked(config, "sevilla")


async def test_an_unknown_language_or_timezone_is_refused_with_the_valid_form(
    linker: Linker, store: LinkStore, config: Config
) -> None:
    code = await code_for(store)
    answer = await linker(ask(f"{code} portuguese Porto", hint_="pt"))
    assert answer.room is None
    assert answer.language == "pt"  # the sender's app language, as the given one is none
    assert "link CODE <language> <label> [timezone]" in said(answer)
    assert "ISO 639-1" in said(answer)
    answer = await linker(ask(f"{code} pt Porto Europe/Lisboa"))
    assert answer.room is None
    assert said(answer).startswith("Europe/Lisboa não é um fuso horário conhecido")
    answer = await linker(ask(f"{code} pt"))
    assert "link tl-7KQ2-M9 pt Porto Europe/Lisbon" in said(answer)
    assert await store.circle_of(code) == "housing"  # none of them spent the code
    assert not is_linked(config, "porto")


async def test_a_label_clashing_with_a_config_room_is_refused(
    linker: Linker, store: LinkStore, config: Config
) -> None:
    code = await code_for(store)
    for label in ("Berlin", "CDMX", "nyc", "¿?"):
        answer = await linker(ask(f"{code} de {label}"))
        assert answer.room is None
        assert "Nichts wurde geändert" in said(answer)
    assert "mit einem anderen Namen" in said(await linker(ask(f"{code} de Berlin")))
    assert await store.circle_of(code) == "housing"
    assert len(config.rooms) == 3


async def test_a_chat_already_served_cannot_link_again(
    linker: Linker, store: LinkStore, config: Config
) -> None:
    code = await code_for(store)
    answer = await linker(ask(f"{code} es Otra", chat="a1"))  # CDMX's own chat
    assert answer.room is None
    assert said(answer) == "Este chat ya está enlazado. No se cambió nada."
    assert await store.circle_of(code) == "housing"
    linked = await linker(ask(f"{code} pt Porto"))
    assert linked.room is not None
    again = await linker(ask(f"{await code_for(store)} pt Porto Two"))
    assert again.room is None
    assert "ligado" in said(again)


async def test_invites_off_refuses_every_link(
    tmp_path: Path, redis_url: str, redis_client: redis.asyncio.Redis, clock: Clock
) -> None:
    config = memory_config(tmp_path, redis_url, link={"invites": False}).config
    store = LinkStore(redis_client, clock)
    code = await store.invite("net", "memory:mod", "berlin")
    answer = await Linker(config, redis_client, store, clock)(ask(f"{code} en Leeds"))
    assert answer.room is None
    assert said(answer) == "This bridge does not link rooms from chat."


async def test_no_log_line_or_audit_entry_holds_a_whole_code(
    linker: Linker,
    store: LinkStore,
    redis_client: redis.asyncio.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    code = await code_for(store)
    wrong = "tl-ABCD-EF"
    await linker(ask(f"{wrong} pt Porto"))
    assert (await linker(ask(f"{code} pt Porto"))).room is not None
    raw, wrong_raw = normalize(code), normalize(wrong)
    assert raw is not None
    assert wrong_raw is not None
    entries = await Audit(redis_client, 90).read()
    assert any(hint(code) in e.detail for e in entries)
    assert any(hint(wrong) in e.detail for e in entries)
    for text in [r.getMessage() for r in caplog.records] + [repr(e) for e in entries]:
        for secret in (raw, wrong_raw):
            assert secret not in text.upper().replace("-", "")
    assert not await redis_client.keys(f"*{raw}*")  # Redis keeps digests only
    assert await redis_client.exists(keys.LINKED)
