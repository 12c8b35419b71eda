"""`translocal demo`: the whole network on one machine, a scripted scene, and what each room
saw.

It starts the local stand-ins (the sandbox LibreTranslate and Telegram Bot API servers, a real
Synapse), runs the real bridge (`translocal run -c bridge/examples/demo.yaml`, with a fast call-out
clock) as its own process over its own embedded Redis, plays a scene with people in a
Telegram group (Mexico City, Spanish) and two Matrix rooms (Berlin, German; New York,
English), checks that each step happened, and prints every room as its members see it.

It drives the bridge only from outside, as an operator would: `python -m bridge run` in a
subprocess, configured through environment variables. It imports nothing of `bridge`, `bots`
or `translation`, so sandbox/ stays the outside world; `translocal demo` (bridge/cli.py) is
the one place that imports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
# package data of bridge, found by path (sandbox imports nothing of bridge), installed or not
DEMO_CONFIG = ROOT / "bridge" / "examples" / "demo.yaml"
# the sandbox's own credentials: nothing here reaches a real service
TOKEN = "100000001:sandbox-token-cdmx-aaaaaaaaaaaaaaaaaaaaaa"  # noqa: S105
CDMX_CHAT = -1001000000001
ROSA, LEO, ANA = 2001, 2002, 2003  # Rosa moderates the CDMX group (config `moderators`)
BRIDGE_PASSWORD = "demo-bridge-password"  # noqa: S105
MEMBER_PASSWORD = "demo-member-password"  # noqa: S105
CALLOUT_TEXT = "Solidarity hour: every city, 17:00 local time. Gather at your building's door."
CITIES = {"cdmx": "America/Mexico_City", "berlin": "Europe/Berlin", "nyc": "America/New_York"}
CALLOUT_SPAN_S = 40.0  # the compressed clock plays the three local 17:00s within this

# the sandbox translator's table: the members' sentences only (the built-in ones) and the
# organizer's call-out. The bridge's own texts come from its catalogs, never from here.
PHRASES = {
    CALLOUT_TEXT: {
        "en": CALLOUT_TEXT,
        "es": "Hora de la solidaridad: en cada ciudad, a las 17:00 hora local. "
        "Nos vemos en la puerta de tu edificio.",
        "de": "Stunde der Solidarität: in jeder Stadt um 17:00 Uhr Ortszeit. "
        "Treffpunkt an der Tür eures Hauses.",
    },
}


class SceneFailed(Exception):
    pass


@dataclass
class Scene:
    say: Callable[[str], None]
    tg: Any = None  # sandbox.telegram.BotApiServer
    members: dict[str, Any] = field(default_factory=dict)  # name -> sandbox Member
    rooms: dict[str, str] = field(default_factory=dict)  # berlin/nyc -> room id
    bridge: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    async def until(self, what: str, check: Callable[[], bool], within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while not check():
            if self.bridge is not None and self.bridge.poll() is not None:
                raise SceneFailed(f"the bridge exited ({self.bridge.returncode}) before: {what}")
            if time.monotonic() > deadline:
                raise SceneFailed(f"not seen within {within:.0f} s: {what}")
            await asyncio.sleep(0.2)
        self.say(f"  ✓ {what}")

    # --- what each room shows ---------------------------------------------------------------

    def cdmx(self) -> list[dict[str, Any]]:
        return list(self.tg.messages(CDMX_CHAT))

    def cdmx_has(self, needle: str) -> bool:
        return any(needle in (m.get("text") or "") for m in self.cdmx())

    def matrix(self, room: str) -> list[Any]:
        viewer = self.members["jonas" if room == "berlin" else "maya"]
        return list(viewer.view(self.rooms[room]))

    def matrix_has(self, room: str, needle: str) -> bool:
        return any(needle in seen.body for seen in self.matrix(room))


def callout_moment(now: datetime) -> tuple[str, float]:
    """A local-mode `at` whose three fires (17:00 in each city) all lie ahead, and the clock
    speed that plays them within CALLOUT_SPAN_S seconds."""
    day: date = (now + timedelta(days=1)).date()
    fires = [
        datetime(day.year, day.month, day.day, 17, tzinfo=ZoneInfo(tz)).astimezone(UTC)
        for tz in CITIES.values()
    ]
    speed = max((max(fires) - now).total_seconds() / CALLOUT_SPAN_S, 1.0)
    return f"{day.isoformat()} 17:00", speed


async def run_demo(say: Callable[[str], None], *, keep_running: bool = False) -> int:
    from sandbox.libretranslate import LibreTranslateServer
    from sandbox.synapse import SynapseServer
    from sandbox.telegram import BotApiServer

    base = Path(tempfile.mkdtemp(prefix="translocal-demo-"))
    scene = Scene(say)
    say("Starting the local stand-ins: LibreTranslate (sandbox), Telegram Bot API (sandbox), "
        "Synapse (real)...")  # fmt: skip
    async with (
        LibreTranslateServer() as lt,
        BotApiServer(limits=True) as tg,
        SynapseServer(base / "synapse") as hs,
    ):
        lt.add_phrases(PHRASES)
        scene.tg = tg
        try:
            await _set_up_telegram(tg)
            await _set_up_matrix(scene, hs)
            at, speed = callout_moment(datetime.now(UTC))
            env = {
                "DEMO_DATA_DIR": str(base / "data"),
                "DEMO_TELEGRAM_API": tg.url,
                "DEMO_TELEGRAM_TOKEN": TOKEN,
                "DEMO_HOMESERVER": hs.url,
                "DEMO_MATRIX_PASSWORD": BRIDGE_PASSWORD,
                "DEMO_LIBRETRANSLATE_URL": lt.url,
                "DEMO_CDMX_CHAT": str(CDMX_CHAT),
                "DEMO_CALLOUT_AT": at,
            }
            scene.log_path = base / "bridge.log"
            say(f"Running the bridge: translocal run -c {DEMO_CONFIG.relative_to(ROOT)} "
                f"--clock-speed {speed:.0f}  (log: {scene.log_path})")  # fmt: skip
            scene.bridge = _start_bridge(env, speed, scene.log_path)
            await _play(scene)
        except SceneFailed as exc:
            say(f"\nThe demo scene failed: {exc}")
            if scene.log_path is not None and scene.log_path.exists():
                tail = scene.log_path.read_text(errors="replace").splitlines()[-25:]
                say("Last lines of the bridge's log:\n" + "\n".join(tail))
            return 1
        else:
            _print_transcripts(scene, lt)
            if keep_running:
                _print_how_to_join(say, hs.url)
                await _wait_for_interrupt()
            return 0
        finally:
            _stop_bridge(scene.bridge)
            for member in scene.members.values():
                with contextlib.suppress(Exception):
                    await member.close()


async def _set_up_telegram(tg: Any) -> None:
    tg.add_bot(TOKEN, "translocal_cdmx_bot")
    for user, name in ((ROSA, "Rosa"), (LEO, "Leo"), (ANA, "Ana")):
        tg.add_user(user, name)
    tg.create_chat(CDMX_CHAT, "Inquilinas CDMX")
    tg.add_member(CDMX_CHAT, ROSA, owner=True, announce=False)
    for user in (LEO, ANA):
        tg.add_member(CDMX_CHAT, user, announce=False)
    tg.add_member(CDMX_CHAT, 100000001, admin=True, by=ROSA)  # Rosa adds the bridge bot


async def _set_up_matrix(scene: Scene, hs: Any) -> None:
    from sandbox.matrix_members import Member

    server = hs.server_name
    await hs.register("translocal", BRIDGE_PASSWORD, displayname="Translocal")
    people = {"jonas": "Jonas", "mod-berlin": "Mo", "maya": "Maya", "organizer": "Olu"}
    for user, display in people.items():
        await hs.register(user, MEMBER_PASSWORD, displayname=display)
        scene.members[user] = await Member.login(hs.url, f"@{user}:{server}", MEMBER_PASSWORD)
    bot = f"@translocal:{server}"
    jonas, maya = scene.members["jonas"], scene.members["maya"]
    scene.rooms["berlin"] = await jonas.open_room("berlin", "Mieter*innen Berlin",
                                                  [bot, f"@mod-berlin:{server}"])  # fmt: skip
    scene.rooms["nyc"] = await maya.open_room("nyc", "NYC Tenants", [bot, f"@organizer:{server}"])
    await scene.members["mod-berlin"].join(scene.rooms["berlin"])
    await scene.members["organizer"].join(scene.rooms["nyc"])


def _start_bridge(env: dict[str, str], speed: float, log_path: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bridge", "run", "-c", str(DEMO_CONFIG),
               "--clock-speed", f"{speed:.3f}"]  # fmt: skip
    log_file = log_path.open("wb")
    return subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        command, env={**os.environ, **env}, stdout=log_file, stderr=subprocess.STDOUT,
        cwd=ROOT, start_new_session=True,
    )  # fmt: skip


def _stop_bridge(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _play(scene: Scene) -> None:
    tg, say = scene.tg, scene.say
    jonas, berlin = scene.members["jonas"], scene.rooms["berlin"]
    say("\nThe scene:")
    await scene.until("the bridge introduced itself in all three rooms", lambda: (
        scene.cdmx_has("Translocal") and scene.matrix_has("berlin", "Translocal")
        and scene.matrix_has("nyc", "Translocal")), within=90)  # fmt: skip

    say("- Ana writes in CDMX; Leo answers her. The circle is moderated: nothing crosses yet.")
    root = tg.post(CDMX_CHAT, ANA, "Asamblea de inquilinas el jueves a las 19h.")["message_id"]
    leo = tg.post(CDMX_CHAT, LEO, "Necesitamos más gente en la puerta.", reply_to=root)
    leo_id = leo["message_id"]

    say("- Leo, who is not a moderator, tries /share: refused.")
    tg.post(CDMX_CHAT, LEO, "/share", reply_to=root)
    await scene.until("Leo's /share was refused in CDMX", lambda: scene.cdmx_has("Solo quienes"))
    await asyncio.sleep(1.0)
    if scene.matrix_has("berlin", "Mieter*innenversammlung"):
        raise SceneFailed("the thread crossed before a moderator shared it")

    say("- Rosa, the group's moderator, replies /share: the thread crosses, translated.")
    tg.post(CDMX_CHAT, ROSA, "/share", reply_to=root)
    await scene.until("Berlin sees the thread in German", lambda: (
        scene.matrix_has("berlin", "Mieter*innenversammlung am Donnerstag um 19 Uhr.")
        and scene.matrix_has("berlin", "Wir brauchen mehr Leute an der Tür.")))  # fmt: skip
    await scene.until("NYC sees the thread in English", lambda: (
        scene.matrix_has("nyc", "Tenants' assembly on Thursday at 7 pm.")
        and scene.matrix_has("nyc", "We need more people at the door.")))  # fmt: skip

    say("- Jonas answers from Berlin, as a reply to Ana's message there.")
    copy = jonas.find(berlin, "Mieter*innenversammlung")
    await jonas.say(berlin, "Wir stehen an eurer Seite", reply_to=copy)
    await scene.until("CDMX sees Jonas's answer in Spanish, as a reply to Ana",
                      lambda: any("Estamos a vuestro lado" in (m.get("text") or "")
                                  and m.get("reply_to") == root for m in scene.cdmx()))  # fmt: skip
    await scene.until(
        "NYC sees it in English", lambda: scene.matrix_has("nyc", "We stand with you")
    )

    say("- Ana changes her message: the copies follow.")
    tg.edit(CDMX_CHAT, root, "Bloqueo mañana a las 7 frente al edificio.")
    await scene.until("Berlin shows the edit", lambda: scene.matrix_has(
        "berlin", "Blockade morgen um 7 Uhr vor dem Gebäude."))  # fmt: skip
    await scene.until("NYC shows the edit", lambda: scene.matrix_has(
        "nyc", "Blockade tomorrow at 7 in front of the building."))  # fmt: skip

    say("- Leo retracts his message with /retract, then deletes it in CDMX.")
    tg.post(CDMX_CHAT, LEO, "/retract", reply_to=leo_id)
    await scene.until("Leo's message is gone from Berlin and NYC", lambda: (
        not scene.matrix_has("berlin", "Wir brauchen mehr Leute")
        and not scene.matrix_has("nyc", "We need more people")))  # fmt: skip
    tg.delete(CDMX_CHAT, leo_id)

    say("- The call-out 'solidarity-hour' fires at 17:00 in each city, on a compressed clock.")
    await scene.until("the call-out reached CDMX, Berlin and NYC, each in its language", lambda: (
        scene.cdmx_has("Hora de la solidaridad")
        and scene.matrix_has("berlin", "Stunde der Solidarität")
        and scene.matrix_has("nyc", "Solidarity hour")), within=CALLOUT_SPAN_S + 60)  # fmt: skip
    await scene.until("the organizers' room (NYC) got the delivery report",
                      lambda: scene.matrix_has("nyc", "landed in 3 of 3 rooms"))  # fmt: skip


def _print_transcripts(scene: Scene, lt: Any) -> None:
    say = scene.say
    say("\nWhat each room's members saw:")
    say("\n== CDMX — Telegram group, Spanish ==")
    by_id = {m["message_id"]: m for m in scene.cdmx()}
    for m in scene.cdmx():
        text = (m.get("text") or "").replace("\n", " / ")
        reply = by_id.get(m.get("reply_to"))
        line = f"  {m.get('author_name')}: {text}"
        if m.get("edit_date"):
            line += "  (edited)"
        if reply is not None:
            line += f"\n      ↳ in reply to {reply.get('author_name')}: "
            line += _short(reply.get("text") or "")
        say(line)
    for room, title in (("berlin", "Berlin — Matrix room, German"),
                        ("nyc", "NYC — Matrix room, English")):  # fmt: skip
        say(f"\n== {title} ==")
        seen = scene.matrix(room)
        by_event = {s.event_id: s for s in seen}
        names = {m.user_id: name for name, m in scene.members.items()}
        for s in seen:
            who = names.get(s.sender, s.sender.split(":")[0].lstrip("@"))
            line = f"  {who}: {s.body.replace(chr(10), ' / ')}"
            if s.edited:
                line += "  (edited)"
            parent = by_event.get(s.reply_to or "")
            if parent is not None:
                line += f"\n      ↳ in reply to: {_short(parent.body)}"
            say(line)
    say(f"\nTranslation: the sandbox LibreTranslate phrase table ({lt.calls} calls); sentences "
        "it does not know come back marked [xx]. Configure a real LibreTranslate in "
        "translation.providers to translate anything.")  # fmt: skip


def _short(text: str, width: int = 60) -> str:
    flat = text.replace("\n", " / ")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _print_how_to_join(say: Callable[[str], None], homeserver: str) -> None:
    say(f"\nThe network keeps running. Log in with any Matrix client to {homeserver} as "
        f"jonas / {MEMBER_PASSWORD} (Berlin) or maya / {MEMBER_PASSWORD} (NYC). "
        "Ctrl-C stops everything.")  # fmt: skip


async def _wait_for_interrupt() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main_demo(say: Callable[[str], None], keep_running: bool) -> int:
    return asyncio.run(run_demo(say, keep_running=keep_running))
