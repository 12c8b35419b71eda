"""`translocal discover`: the chats each bot sees now, against the sandbox Bot API and the
real Synapse; titles are someone else's text and reach the operator's terminal sanitized."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bridge.config.load import load_config
from bridge.discover import run_discover
from sandbox.synapse import SynapseServer
from sandbox.telegram import BotApiServer
from tests.bots.test_matrix import bot_user
from tests.helpers import BODY_CANARY, sandbox_bot, write_config
from tests.synapse_fixture import PASSWORD, create_room, member, unique

GOOD = "5000001:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
OTHER = "5000002:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
WRONG = "5000009:ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"
ANA, LUIS = 7001, 7002
FORUM, PLAIN = -1001000000001, -1001000000002


@pytest.fixture
async def tg() -> AsyncIterator[BotApiServer]:
    async with BotApiServer(limits=False) as server:
        server.add_bot(GOOD, "cdmx_bot")
        server.add_bot(OTHER, "berlin_bot")
        server.add_user(ANA, "Ana", "ana_cdmx")
        server.add_user(LUIS, "Luis")
        yield server


def tg_config(tmp_path: Path, tg: BotApiServer, *bots: tuple[str, str]) -> Path:
    entries = [sandbox_bot(bot_id, token, tg.url) for bot_id, token in bots]
    first = bots[0][0]
    cfg: dict[str, object] = {
        "data_dir": str(tmp_path / "data"),
        "bots": entries,
        "rooms": [{"id": "x", "bot": first, "chat": -1001, "language": "es", "label": "X"}],
    }
    return write_config(tmp_path / "c.yaml", cfg)


def lines_with(out: str, text: str) -> list[str]:
    return [line for line in out.splitlines() if text in line]


async def test_telegram_lists_a_group_its_topic_and_a_private_chat_and_confirms_nothing(
    tmp_path: Path, tg: BotApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    tg.create_chat(FORUM, "Asamblea CDMX", is_forum=True)
    tg.add_member(FORUM, ANA, owner=True)
    tg.add_member(FORUM, 5000001)
    topic = tg.create_topic(FORUM, "Desalojos")
    tg.post(FORUM, ANA, "hola", thread_id=topic)
    tg.open_private(LUIS, 5000001)
    tg.post(LUIS, LUIS, "/start")
    pending = len(tg.updates_pending(GOOD))

    code = await run_discover(load_config(tg_config(tmp_path, tg, ("cdmx", GOOD)), env={}))
    out = capsys.readouterr().out

    assert code == 0
    group = [line for line in lines_with(out, str(FORUM)) if "Desalojos" not in line]
    assert len(group) == 1
    assert "Asamblea CDMX" in group[0]
    assert "supergroup" in group[0]
    (in_topic,) = lines_with(out, "Desalojos")
    assert str(FORUM) in in_topic
    assert f" {topic} " in f" {in_topic} "
    (private,) = lines_with(out, str(LUIS))
    assert "private" in private
    assert "Luis" in private
    assert all(line.startswith(("BOT", "cdmx ")) for line in out.splitlines() if line.strip())
    assert len(tg.updates_pending(GOOD)) == pending  # run still gets every one of them


async def test_an_update_the_library_cannot_read_is_skipped_and_its_body_never_logged(
    tmp_path: Path,
    tg: BotApiServer,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    tg.create_chat(PLAIN, "Vecinas Roma")
    tg.add_member(PLAIN, ANA, owner=True)
    tg.add_member(PLAIN, 5000001)
    tg.queue_raw_update(GOOD, {"poll": {"id": "p1", "question": f"¿Marcha? {BODY_CANARY}"}})
    tg.post(PLAIN, ANA, "hola")

    code = await run_discover(load_config(tg_config(tmp_path, tg, ("cdmx", GOOD)), env={}))
    out = capsys.readouterr().out

    assert code == 0
    assert lines_with(out, "Vecinas Roma")  # the chat after the unreadable update is listed
    assert BODY_CANARY not in out
    assert not [r for r in caplog.records if BODY_CANARY in r.getMessage()]


async def test_yaml_is_a_rooms_snippet_to_paste_with_placeholders_left_to_fill(
    tmp_path: Path, tg: BotApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    tg.create_chat(FORUM, "Asamblea CDMX", is_forum=True)
    tg.add_member(FORUM, ANA, owner=True)
    tg.add_member(FORUM, 5000001)
    topic = tg.create_topic(FORUM, "Desalojos")

    code = await run_discover(
        load_config(tg_config(tmp_path, tg, ("cdmx", GOOD)), env={}), as_yaml=True
    )
    out = capsys.readouterr().out

    assert code == 0
    rooms = yaml.safe_load(out)["rooms"]
    chats = {(r["chat"], r.get("topic")) for r in rooms}
    assert chats == {(FORUM, None), (FORUM, topic)}
    assert all(r["bot"] == "cdmx" for r in rooms)
    assert all(r["language"] == "" and r["label"] == "" for r in rooms)  # config says: fill in
    assert "# Asamblea CDMX" in out


async def test_a_title_with_newlines_bidi_controls_and_escapes_reaches_the_terminal_inert(
    tmp_path: Path, tg: BotApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = "Tenants\x1b[2J\x1b]0;pwned\x07\nrooms:\r\n  - chat: 1\u202eevil\u2066\x9b31m"
    tg.create_chat(PLAIN, evil)
    tg.add_member(PLAIN, ANA, owner=True)
    tg.add_member(PLAIN, 5000001)
    tg.post(PLAIN, ANA, "hola")

    for as_yaml in (False, True):
        code = await run_discover(
            load_config(tg_config(tmp_path, tg, ("cdmx", GOOD)), env={}), as_yaml=as_yaml
        )
        out = capsys.readouterr().out
        assert code == 0
        for control in ("\x1b", "\x07", "\r", "\u202e", "\u2066", "\x9b"):
            assert control not in out
        assert len(lines_with(out, "Tenants")) == 1  # one line, the newline shown, not obeyed
        if as_yaml:
            rooms = yaml.safe_load(out)["rooms"]
            assert [r["chat"] for r in rooms] == [PLAIN]  # the title injected no room


async def test_a_refused_token_names_its_bot_and_the_others_are_still_listed_then_exit_4(
    tmp_path: Path, tg: BotApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    tg.create_chat(PLAIN, "Mietergruppe")
    tg.add_member(PLAIN, ANA, owner=True)
    tg.add_member(PLAIN, 5000002)
    path = tg_config(tmp_path, tg, ("cdmx", WRONG), ("berlin", OTHER))

    code = await run_discover(load_config(path, env={}))
    captured = capsys.readouterr()

    assert code == 4
    assert "telegram bot cdmx: the Bot API refused the token" in captured.err
    assert "ZZZZZZZZ" not in captured.err + captured.out
    assert lines_with(captured.out, "Mietergruppe")[0].startswith("berlin ")


async def test_a_webhook_or_another_poller_is_a_409_that_discover_explains(
    tmp_path: Path, tg: BotApiServer, capsys: pytest.CaptureFixture[str]
) -> None:
    async with httpx.AsyncClient(trust_env=False) as http:
        set_hook = await http.post(f"{tg.url}/bot{GOOD}/setWebhook",
                                   json={"url": "https://127.0.0.1:8443/hook"})  # fmt: skip
    assert set_hook.json()["ok"], set_hook.text

    code = await run_discover(load_config(tg_config(tmp_path, tg, ("cdmx", GOOD)), env={}))
    err = capsys.readouterr().err

    assert code == 4
    assert "telegram bot cdmx: 409 Conflict" in err
    assert "webhook" in err
    assert "before `translocal run`" in err


def mx_config(tmp_path: Path, synapse: SynapseServer, user_id: str, password: str) -> Path:
    bot: dict[str, Any] = {"id": "berlin", "platform": "matrix", "homeserver": synapse.url,
                           "user_id": user_id, "password": password}  # fmt: skip
    room = {"id": "x", "bot": "berlin", "chat": "!x:localhost", "language": "de", "label": "X"}
    cfg: dict[str, object] = {"data_dir": str(tmp_path / "data"), "bots": [bot], "rooms": [room]}
    return write_config(tmp_path / "m.yaml", cfg)


async def test_matrix_lists_joined_rooms_and_pending_invites_with_names_and_encryption(
    tmp_path: Path, synapse: SynapseServer, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await bot_user(synapse)
    async with member(synapse, "ana") as ana:
        joined_room = await create_room(ana, invite=(bot,), alias=unique("plaza"))
        invited_room = await create_room(ana, invite=(bot,), encrypted=True)
        token = await synapse.login(bot, PASSWORD)
        async with httpx.AsyncClient(trust_env=False) as http:
            auth = {"Authorization": f"Bearer {token}"}
            joined = await http.post(f"{synapse.url}/_matrix/client/v3/join/{joined_room}",
                                     headers=auth, json={})  # fmt: skip
        assert joined.status_code == 200

    code = await run_discover(load_config(mx_config(tmp_path, synapse, bot, PASSWORD), env={}))
    out = capsys.readouterr().out

    assert code == 0
    (in_room,) = lines_with(out, joined_room)
    assert "plaza" in in_room
    assert "member" in in_room
    assert "not encrypted" in in_room
    (invite,) = lines_with(out, invited_room)
    assert "invited" in invite
    assert " encrypted" in invite
    assert "not encrypted" not in invite


async def test_matrix_refused_login_names_its_bot_and_exits_4(
    tmp_path: Path, synapse: SynapseServer, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = await bot_user(synapse)
    path = mx_config(tmp_path, synapse, bot, "not-the-password")
    code = await run_discover(load_config(path, env={}))
    err = capsys.readouterr().err
    assert code == 4
    assert "matrix bot berlin: the homeserver refused the login" in err
    assert "not-the-password" not in err
