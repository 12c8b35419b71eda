"""Helpers shared by tests: config files and translocal processes."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


# what a config sets when a test sends more than one member may (bridge.relay.limits)
NO_LIMITS = {"per_sender_per_minute": 10_000_000, "per_room_per_minute": 10_000_000}
BODY_CANARY = "canary-body-q7"  # in members' messages; must never reach a log at INFO


def minimal_config(**overrides: object) -> dict[str, object]:
    """A small valid config: one Telegram and one Matrix bot, two rooms, one circle."""
    cfg: dict[str, object] = {
        "bots": [
            {"id": "tg", "platform": "telegram", "token": "${TG_TOKEN}"},
            {
                "id": "mx",
                "platform": "matrix",
                "homeserver": "http://127.0.0.1:8008",
                "user_id": "@bot:localhost",
                "password": "${MX_PASSWORD}",
            },
        ],
        "rooms": [
            {"id": "cdmx", "bot": "tg", "chat": -1001, "language": "es", "label": "CDMX"},
            {
                "id": "berlin",
                "bot": "mx",
                "chat": "!b:localhost",
                "language": "de",
                "label": "Berlin",
            },
        ],
        "circles": [{"id": "housing", "rooms": ["cdmx", "berlin"]}],
    }
    cfg.update(overrides)
    return cfg


ENV = {"TG_TOKEN": TOKEN, "MX_PASSWORD": "bridge-password-1"}


def lifecycle_config(**overrides: object) -> dict[str, object]:
    """A config whose bots are in-memory: for running translocal as a process in tests,
    where a Telegram or Matrix bot would try to reach its (absent) server."""
    cfg: dict[str, object] = {
        "bots": [{"id": "a", "platform": "memory"}, {"id": "b", "platform": "memory"}],
        "rooms": [
            {"id": "cdmx", "bot": "a", "chat": "a1", "language": "es", "label": "CDMX"},
            {"id": "berlin", "bot": "b", "chat": "b1", "language": "de", "label": "Berlin"},
        ],
        "circles": [{"id": "housing", "rooms": ["cdmx", "berlin"]}],
    }
    cfg.update(overrides)
    return cfg


def sandbox_bot(bot_id: str, token: str, api_url: str, **extra: object) -> dict[str, object]:
    """A Telegram bot of a config, talking to the sandbox Bot API server, polling briefly."""
    return {
        "id": bot_id,
        "platform": "telegram",
        "token": token,
        "api_url": api_url,
        "poll_timeout": 1,
        **extra,
    }


def write_config(path: Path, cfg: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
    return path


RUNNING: list[Proc] = []  # killed by a conftest fixture after each test, whatever happened


class Proc:
    """A translocal process whose stderr is read line by line in the background."""

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        module: str = "tests.relay_proc",  # translocal, knowing the in-memory platform too
    ):
        RUNNING.append(self)
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **ENV, "PYTHONPATH": str(ROOT), **(env or {})},
            cwd=cwd,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stderr is not None
        from tests.conftest import ALL_PROCESS_LINES

        for line in self.popen.stderr:
            self.lines.append(line.rstrip("\n"))
            ALL_PROCESS_LINES.append(line)
            self._queue.put(line)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        for line in list(self.lines):
            if text in line:
                return line
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self.popen.poll() is not None and self._queue.empty():
                    break
                continue
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r}; stderr was:\n" + "\n".join(self.lines))

    def stop(self, timeout: float = 30.0) -> int:
        self.popen.terminate()
        return self.wait(timeout)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"still running after {timeout} s; stderr was:\n" + "\n".join(self.lines)
            ) from None
        self._reader.join(5)
        if self.popen.stderr is not None:
            self.popen.stderr.close()
        return code


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
    module: str = "bridge",
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV, "PYTHONPATH": str(ROOT), **(env or {})},
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def ogg_voice(**tags: str) -> bytes:
    """A small, valid Ogg Opus voice note (three pages), with these comment tags."""
    import struct

    from mutagen.ogg import OggPage

    def page(packet: bytes, sequence: int, position: int = 0, **flags: bool) -> bytes:
        made = OggPage()
        made.serial, made.sequence, made.position = 7, sequence, position
        made.packets = [packet]
        made.first, made.last = flags.get("first", False), flags.get("last", False)
        return bytes(made.write())

    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    comments = [f"{k}={v}".encode() for k, v in tags.items()]
    vendor = b"recorder"
    body = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(comments))
    body += b"".join(struct.pack("<I", len(c)) + c for c in comments)
    audio = bytes([0xFC]) + bytes(range(200))
    return page(head, 0, first=True) + page(b"OpusTags" + body, 1) + page(audio, 2, 960, last=True)


def pdf_leaflet(text: str, **info: str) -> bytes:
    """A one-page PDF whose page says ``text``, with these document-info entries."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=200, height=200)
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    })  # fmt: skip
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    content = DecodedStreamObject()
    content.set_data(f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode())
    page[NameObject("/Contents")] = writer._add_object(content)
    if info:
        writer.add_metadata({f"/{k}": v for k, v in info.items()})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
