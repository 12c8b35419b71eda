"""The bridge's resident memory for the demo network, against a bare Python process that
imports the same client libraries, and the language detector's accuracy.

    .venv/bin/python bench/footprint.py [--skip-network]

- baseline: ``python -c "import telegram, nio, redis, httpx, pydantic, aiohttp"`` that then
  waits; its VmRSS from /proc/<pid>/status;
- the bridge: the demo network as `translocal demo` runs it (the sandbox LibreTranslate and
  Telegram Bot API servers, a real Synapse; bridge/examples/demo.yaml: three rooms and languages),
  the bridge started exactly as the demo starts it (`python -m bridge run -c demo.yaml`, its
  own process, its embedded Redis), a thread shared and answered across Telegram and Matrix;
  then the bridge process's VmRSS (the embedded redis-server, a separate process, not
  counted: it is printed on its own line);
- accuracy, on bench/data/chat_sample.tsv (315 short chat lines, 45 in each of the seven
  shipped languages): the translation.detect.Detector (lingua low-accuracy mode and function
  words) against lingua's high-accuracy mode over the same seven languages: (a) the language
  named for the text alone; (b) what the bridge takes as the source when the line is posted
  in a room of its own language and (c) in a room of each other language (a mixed-language
  room), with the old rule (high accuracy; 20 letters, 4 words and 0.8 confidence to
  overrule the room) for comparison.

Ends with ``ratio: <bridge RSS / bare-libraries RSS>`` (the issue's target: below 1.5).
What keeps it there: lingua loads only for a line whose function words do not say the room's
language (translation/detect.py); Babel is not imported at all for the shipped languages (their
catalogs are read by bridge.model.catalogs.read_light, their dates and names come from
bridge/locales/<lang>/cldr.json: about 6 MiB less for the demo's three languages).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lingua import IsoCode639_1, LanguageDetectorBuilder  # noqa: E402

from translation.detect import SHIPPED, Detector  # noqa: E402

SAMPLE = ROOT / "bench" / "data" / "chat_sample.tsv"
BARE = (
    "import sys, telegram, nio, redis, httpx, pydantic, aiohttp\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def bare_rss() -> float:
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        return rss_mib(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def redis_pid(data_dir: Path) -> int | None:
    """The embedded redis-server's pid, from the file bridge.infra.embedded_redis writes for
    other processes of the same data_dir (``<data_dir>/redis/server.json``; no pid file:
    the server runs with ``--daemonize no``)."""
    try:
        pid = json.loads((data_dir / "redis" / "server.json").read_text())["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if isinstance(pid, int) and Path(f"/proc/{pid}").exists() else None


async def bridge_rss() -> tuple[float, float | None, int]:
    """The demo network's bridge process RSS after it relayed a thread both ways, the embedded
    Redis's RSS, and how many messages crossed."""
    from sandbox import demo
    from sandbox.libretranslate import LibreTranslateServer
    from sandbox.synapse import SynapseServer
    from sandbox.telegram import BotApiServer

    base = Path(tempfile.mkdtemp(prefix="translocal-footprint-"))
    scene = demo.Scene(lambda line: print(line, flush=True))
    async with (
        LibreTranslateServer() as lt,
        BotApiServer(limits=True) as tg,
        SynapseServer(base / "synapse") as hs,
    ):
        lt.add_phrases(demo.PHRASES)
        scene.tg = tg
        try:
            await demo._set_up_telegram(tg)
            await demo._set_up_matrix(scene, hs)
            env = {
                "DEMO_DATA_DIR": str(base / "data"),
                "DEMO_TELEGRAM_API": tg.url,
                "DEMO_TELEGRAM_TOKEN": demo.TOKEN,
                "DEMO_HOMESERVER": hs.url,
                "DEMO_MATRIX_PASSWORD": demo.BRIDGE_PASSWORD,
                "DEMO_LIBRETRANSLATE_URL": lt.url,
                "DEMO_CDMX_CHAT": str(demo.CDMX_CHAT),
            }
            scene.bridge = demo._start_bridge(env, 1.0, base / "bridge.log")
            crossed = await _relay_a_thread(scene)
            await asyncio.sleep(2.0)  # let the bridge settle after the last delivery
            in_room_languages = rss_mib(scene.bridge.pid)
            print(f"bridge after the thread, every line in its room's language: "
                  f"{in_room_languages:.1f} MiB")  # fmt: skip
            await _a_line_in_another_language(scene)
            await asyncio.sleep(2.0)
            pid = redis_pid(base / "data")
            return rss_mib(scene.bridge.pid), rss_mib(pid) if pid else None, crossed + 1
        finally:
            demo._stop_bridge(scene.bridge)
            for member in scene.members.values():
                await member.close()


async def _relay_a_thread(scene: object) -> int:
    """Ana writes in CDMX, Leo answers, Rosa shares the thread, Jonas answers from Berlin."""
    from sandbox import demo

    assert isinstance(scene, demo.Scene)
    tg, cdmx = scene.tg, demo.CDMX_CHAT
    await scene.until("the bridge introduced itself in all three rooms", lambda: (
        scene.cdmx_has("Translocal") and scene.matrix_has("berlin", "Translocal")
        and scene.matrix_has("nyc", "Translocal")), within=90)  # fmt: skip
    root = tg.post(cdmx, demo.ANA, "Asamblea de inquilinas el jueves a las 19h.")["message_id"]
    tg.post(cdmx, demo.LEO, "Necesitamos más gente en la puerta.", reply_to=root)
    tg.post(cdmx, demo.ROSA, "/share", reply_to=root)
    await scene.until("Berlin and NYC see the thread", lambda: (
        scene.matrix_has("berlin", "Wir brauchen mehr Leute an der Tür.")
        and scene.matrix_has("nyc", "We need more people at the door.")))  # fmt: skip
    jonas, berlin = scene.members["jonas"], scene.rooms["berlin"]
    copy = jonas.find(berlin, "Mieter*innenversammlung")
    await jonas.say(berlin, "Wir stehen an eurer Seite", reply_to=copy)
    await scene.until("CDMX and NYC see Jonas's answer", lambda: (
        scene.cdmx_has("Estamos a vuestro lado")
        and scene.matrix_has("nyc", "We stand with you")))  # fmt: skip
    return 3


async def _a_line_in_another_language(scene: object) -> None:
    """Leo answers in English in the Spanish group: the detector's models load."""
    from sandbox import demo

    assert isinstance(scene, demo.Scene)
    scene.tg.post(demo.CDMX_CHAT, demo.LEO, "We will be there at seven with the banners",
                  reply_to=scene.cdmx()[-1]["message_id"])  # fmt: skip
    await scene.until("NYC sees Leo's English line", lambda: scene.matrix_has(
        "nyc", "We will be there at seven with the banners"))  # fmt: skip


def load_sample() -> list[tuple[str, str]]:
    rows = []
    for line in SAMPLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            language, text = line.split("\t", 1)
            rows.append((language, text))
    return rows


def accuracy(rows: list[tuple[str, str]]) -> None:
    codes = [IsoCode639_1.from_str(c) for c in SHIPPED]
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    high = builder.with_preloaded_language_models().build()

    def named_by_high(text: str) -> str | None:
        found = high.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else None

    def old_rule(text: str, room: str) -> str:  # translation/detect.py before this change
        if sum(ch.isalpha() for ch in text) < 20 or len(text.split()) < 4:
            return room
        values = high.compute_language_confidence_values(text)
        if not values or values[0].value < 0.8:
            return room
        return values[0].language.iso_code_639_1.name.lower()

    ours = Detector(SHIPPED)
    ours.warm()
    n = len(rows)
    raw_high = sum(named_by_high(t) == lang for lang, t in rows) / n
    raw_ours = sum(ours.identify(t) == lang for lang, t in rows) / n
    per_language = ", ".join(f"{c} {sum(1 for r in rows if r[0] == c)}" for c in SHIPPED)
    print(f"sample: {n} lines, {per_language}")
    print(f"accuracy, text alone: lingua high-accuracy {raw_high:.1%}, detector {raw_ours:.1%} "
          f"({(raw_ours - raw_high) * 100:+.1f} points)")  # fmt: skip
    for label, rule in (("old rule (high accuracy)", old_rule), ("detector", ours.detect)):
        own = sum(rule(t, lang) == lang for lang, t in rows) / n
        foreign = [rule(t, room) == lang for lang, t in rows for room in SHIPPED if room != lang]
        print(f"in rooms, {label}: own-language room {own:.1%}, "
              f"mixed-language room {sum(foreign) / len(foreign):.1%}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-network", action="store_true", help="accuracy only")
    args = parser.parse_args()
    accuracy(load_sample())
    if args.skip_network:
        return 0
    started = time.monotonic()
    bridge, redis, crossed = asyncio.run(bridge_rss())
    bare = bare_rss()
    print(f"demo network up and {crossed} messages relayed in {time.monotonic() - started:.0f} s")
    print(f"bare libraries (telegram, nio, redis, httpx, pydantic, aiohttp): {bare:.1f} MiB")
    print(f"bridge (translocal run, demo network), after a line in another language: "
          f"{bridge:.1f} MiB")  # fmt: skip
    if redis is not None:
        print(f"embedded redis-server (its own process): {redis:.1f} MiB")
    print(f"ratio: {bridge / bare:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
