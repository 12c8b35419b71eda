"""`translocal check` tries each provider with a short text into every room language and says,
per provider: ok, key refused, quota exceeded, unreachable, language unsupported; against
the stand-ins of sandbox/translators, through the real check."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.check import run_check
from sandbox.translators import DeepLStandIn, GoogleStandIn, MicrosoftStandIn
from tests.harness import memory_config

ROOMS = [
    {"id": r, "bot": "a", "chat": f"chat-{r}", "language": lang, "label": r.upper()}
    for r, lang in (("cdmx", "es"), ("berlin", "de"), ("nyc", "en"), ("bcn", "ca"))
]


async def test_check_reports_each_provider_as_an_operator_needs_it(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with (
        DeepLStandIn("pro-key-1") as deepl,
        DeepLStandIn("free-key-2:fx") as spent,
        GoogleStandIn("g-key-3") as google,
        MicrosoftStandIn("ms-key-4", region="westeurope") as microsoft,
    ):
        spent.fail(456, None)
        providers = [
            {"name": "google", "api_key": "g-key-3", "url": google.url},
            {"name": "deepl", "api_key": "pro-key-1", "url": deepl.pro_url},
            {"name": "deepl", "api_key": "free-key-2:fx", "url": spent.free_url},
            {"name": "microsoft", "api_key": "wrong-key", "region": "westeurope",
             "url": microsoft.url},
            {"name": "libretranslate", "url": "http://127.0.0.1:9"},  # nobody listens there
        ]  # fmt: skip
        loaded = memory_config(tmp_path, redis_url, rooms=ROOMS,
                               circles=[{"id": "net", "rooms": [r["id"] for r in ROOMS]}],
                               translation={"providers": providers, "timeout_s": 2})  # fmt: skip
        code = await run_check(loaded)
    out = capsys.readouterr().out
    assert "wrong-key" not in out
    assert "g-key-3" not in out
    rows = [line for line in out.splitlines() if line.startswith("translation ")]
    assert len(rows) == 5
    google_row, deepl_row, spent_row, ms_row, libre_row = rows
    assert "ok" in google_row
    assert "en->ca, de, es" in google_row
    assert "warning" in deepl_row
    assert "language unsupported" not in google_row
    assert "offers no ca" in deepl_row
    assert "FAILED" in spent_row
    assert "quota exceeded" in spent_row
    assert "FAILED" in ms_row
    assert "key refused" in ms_row
    assert "FAILED" in libre_row
    assert "unreachable" in libre_row
    assert code == 4
    assert microsoft.token_requests == 0


async def test_check_passes_when_every_provider_answers(
    tmp_path: Path, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with GoogleStandIn("g-key-3") as google:
        providers = [{"name": "google", "api_key": "g-key-3", "url": google.url}]
        loaded = memory_config(tmp_path, redis_url, translation={"providers": providers})
        await run_check(loaded)
    out = capsys.readouterr().out
    (row,) = [line for line in out.splitlines() if line.startswith("translation ")]
    assert row.split()[:3] == ["translation", "google", "ok"]
    assert google.calls == 2  # de and es (the English room needs no call)
