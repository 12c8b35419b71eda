"""``translocal glossary export|import``: a circle's corrections and terms out to a file and
back, and files that must change nothing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import redis.asyncio

from bridge.relay.translate import circle_memory
from tests.harness import memory_config
from tests.helpers import run_cli
from translation.memory import Segment, Term

CIRCLES = [
    {"id": "net", "rooms": ["cdmx", "berlin", "nyc"], "relay": "all"},
    {"id": "other", "rooms": ["cdmx", "berlin"], "relay": "moderated"},
]
BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<tmx version="1.4"><body><tu><tuv xml:lang="es"><seg>&lol3;</seg></tuv>
<tuv xml:lang="de"><seg>x</seg></tuv></tu></body></tmx>
"""


@pytest.mark.parametrize("suffix", [".tmx", ".yaml"])
async def test_what_a_circle_learned_goes_out_and_into_another_circle(
    tmp_path: Path, redis_client: redis.asyncio.Redis, redis_url: str, suffix: str
) -> None:
    loaded = memory_config(tmp_path, redis_url, circles=CIRCLES)
    memory = circle_memory(loaded.config, redis_client)
    fixed = Segment("es", "de", "Huelga de alquileres el lunes", "Mietstreik am Montag")
    await memory.learn("net", fixed, "cdmx/1")
    await memory.add_term("net", Term("desahucio", "de", "Zwangsräumung"))
    config = str(tmp_path / "memory.yaml")
    out = tmp_path / f"net{suffix}"

    exported = run_cli(
        "glossary", "export", str(out), "--circle", "net", "-c", config, module="tests.relay_proc"
    )
    assert exported.returncode == 0, exported.stderr
    assert "1 corrections and 1 terms" in exported.stdout
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds members' texts
    assert "Mietstreik am Montag" in out.read_text(encoding="utf-8")
    again = run_cli(
        "glossary", "export", str(out), "--circle", "net", "-c", config, module="tests.relay_proc"
    )
    assert again.returncode == 2
    assert "exists" in again.stderr

    imported = run_cli(
        "glossary", "import", str(out), "--circle", "other", "-c", config, module="tests.relay_proc"
    )
    assert imported.returncode == 0, imported.stderr
    assert await memory.segments("other") == [fixed]
    assert await memory.terms("other") == [Term("desahucio", "de", "Zwangsräumung")]


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("bomb.tmx", BOMB, "DOCTYPE"),
        ("broken.tmx", "<tmx><body><tu>", "not well-formed"),
        ("other.tmx", "<html><body/></html>", "not a TMX file"),
        ("bad.yaml", "segments: [\n", "not valid UTF-8 YAML"),
        (
            "language.yaml",
            "segments:\n- {from: es, to: de, text: a, corrected: b}\n"
            "- {from: es, to: klingon, text: c, corrected: d}\n",
            "segments[1]: 'klingon' is not an ISO 639-1 language code",
        ),
        ("long.yaml", f"terms:\n- {{term: {'x' * 201}, to: de, translation: y}}\n", "at most 200"),
        ("empty.yaml", "segments:\n- {from: es, to: de, text: '', corrected: b}\n", "empty"),
    ],
)
async def test_a_bad_file_is_refused_in_one_line_and_teaches_nothing(
    tmp_path: Path,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    name: str,
    content: str,
    says: str,
) -> None:
    loaded = memory_config(tmp_path, redis_url, circles=CIRCLES)
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    done = run_cli(
        "glossary",
        "import",
        str(path),
        "--circle",
        "net",
        "-c",
        str(loaded.path),
        module="tests.relay_proc",
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr
    memory = circle_memory(loaded.config, redis_client)
    assert await memory.segments("net") == []  # not even the good entry before the bad one
    assert await memory.terms("net") == []


async def test_an_unknown_circle_is_refused(tmp_path: Path, redis_url: str) -> None:
    loaded = memory_config(tmp_path, redis_url, circles=CIRCLES)
    done = run_cli("glossary", "export", str(tmp_path / "x.yaml"), "--circle", "nope",
                   "-c", str(loaded.path), module="tests.relay_proc")  # fmt: skip
    assert done.returncode == 2
    assert "no circle 'nope' in the config (circles: net, other)" in done.stderr
    assert not (tmp_path / "x.yaml").exists()
