"""`translocal status` and the /status page on the metrics port: what an operator sees of the
network. The page is read by a real headless browser (Debian's Chromium), from its DOM."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest
import redis.asyncio

from bridge.app import App
from bridge.model import keys
from tests.harness import eventually, eventually_async, memory_config, running_app
from tests.helpers import ENV, ROOT
from tests.memory_bot import NETWORK

CHROMIUM = "/usr/bin/chromium"
HOSTILE_LABEL = "<script>document.title='owned'</script>Berlin"
CALLOUT = {"id": "rally", "circles": ["net"], "at": "2099-06-05 18:00", "language": "en",
           "text": "Rally at the town hall"}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def need_chromium() -> str:
    """The browser, or a skip; a failure in CI, where it must be there."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium; ./quickstart test does)")
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (./quickstart test does)")


async def dump_dom(browser: str, url: str, profile: Path) -> str:
    """The DOM Chromium built from ``url``, as it prints it (without blocking the loop that
    serves the page)."""
    proc = await asyncio.create_subprocess_exec(
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode()


async def _recorded(redis_client: redis.asyncio.Redis, room: str) -> bool:
    """A copy into ``room`` is in the activity status shows: written with its send's record,
    after the chat the test watches has the copy."""
    return bool(await redis_client.hexists(keys.ACTIVITY, f"out:{room}"))


async def cli(*args: str) -> tuple[int, str, str]:
    """`translocal ARGS` in its own process (the in-memory platform known), without blocking
    the loop the bridge under test runs on."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.relay_proc", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **ENV, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_a_hostile_room_label_and_bot_reason_show_as_text_in_a_real_browser(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    browser = need_chromium()
    rooms = [
        {"id": "cdmx", "bot": "a", "chat": "a1", "language": "es", "label": "CDMX"},
        {"id": "berlin", "bot": "b", "chat": "b1", "language": "de", "label": HOSTILE_LABEL},
        {"id": "nyc", "bot": "c", "chat": "c1", "language": "en", "label": "NYC"},
    ]
    loaded = memory_config(tmp_path, redis_url, rooms=rooms, callouts=[CALLOUT])
    port = free_port()
    app = App(loaded, lease_ms=1000, metrics=("127.0.0.1", port))
    app.health_every_s = 0.05
    async with running_app(app):
        NETWORK.bot("c").trouble = "<img src=x onerror=alert(1)>unreachable"
        await NETWORK.bot("a").post("a1", "secreto del plan", who="ana", name="Ana Ruiz")
        await eventually(lambda: any("secreto" in m.text for m in NETWORK.seen_in("b1")))
        await eventually_async(lambda: _recorded(redis_client, "berlin"), what="the copy out")
        await redis_client.sadd(keys.PAUSED, "nyc")

        async def reported() -> bool:
            health = await redis_client.hget(keys.bot_state("c", "status"), "health")
            return health is not None and "unreachable" in health

        await eventually_async(reported, what="bot c's trouble reported")
        dom = await dump_dom(browser, f"http://127.0.0.1:{port}/status", tmp_path / "profile")

    assert "<title>Translocal status</title>" in dom  # the script never ran: title unchanged
    assert "owned" not in dom.split("<body>")[0]
    assert "&lt;script&gt;document.title='owned'&lt;/script&gt;Berlin" in dom
    assert "<script" not in dom
    assert "<img" not in dom
    assert "&lt;img src=x onerror=alert(1)&gt;unreachable" in dom
    assert 'http-equiv="refresh"' in dom
    for word in ("CDMX", "NYC", "memory", "es", "net", "paused", "rally", "2099-06-05"):
        assert word in dom, word
    assert dom.count("never") < 6  # CDMX's last message in and Berlin's last copy out show
    for private in ("secreto", "Ana Ruiz", "memory:ana"):
        assert private not in dom
    assert "http://" not in dom.replace(f"http://127.0.0.1:{port}", "")  # nothing external


async def test_status_from_the_shell_shows_rooms_bots_and_callouts(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str
) -> None:
    loaded = memory_config(tmp_path, redis_url, callouts=[CALLOUT])
    path = str(tmp_path / "memory.yaml")
    code, out, err = await cli("status", "-c", path)  # nothing has run yet
    assert code == 0, err
    assert "not reported" in out
    assert "never" in out
    assert "rally" in out

    app = App(loaded, lease_ms=1000)
    async with running_app(app):
        await NETWORK.bot("a").post("a1", "secreto", who="ana", name="Ana Ruiz")
        await eventually(lambda: any("secreto" in m.text for m in NETWORK.seen_in("b1")))
        await eventually_async(lambda: _recorded(redis_client, "berlin"), what="the copy out")
        await redis_client.sadd(keys.PAUSED, "berlin")
        code, out, err = await cli("status", "-c", path)
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "PAUSED" in rows["berlin"]
    assert "PAUSED" not in rows["cdmx"]
    assert rows["cdmx"].count("never") == 1  # a message in; no copy out into CDMX
    assert rows["berlin"].count("never") == 1  # a copy out; nothing from Berlin
    assert " ok (" in rows["a"]
    assert " ok (" in rows["b"]
    assert "2099-06-05 18:00Z" in rows["rally"]  # the rooms keep UTC
    assert "secreto" not in out
    assert "Ana" not in out
    assert "memory:ana" not in out
    code, out, err = await cli("status", "-c", path)  # stopped: its bots report no more
    assert code == 0
    assert "not reported" in out
