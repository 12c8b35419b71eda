"""The LibreTranslate stand-in, spoken to over real HTTP with httpx."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sandbox.libretranslate import LibreTranslateServer
from tests.harness import eventually

BLOCKADE_ES = "Bloqueo mañana a las 7 frente al edificio."
BLOCKADE_DE = "Blockade morgen um 7 Uhr vor dem Gebäude."


@pytest.fixture
async def server() -> AsyncIterator[LibreTranslateServer]:
    async with LibreTranslateServer() as running:
        yield running


@pytest.fixture
async def client(server: LibreTranslateServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        yield http


async def translate(
    client: httpx.AsyncClient, q: str | list[str], source: str = "es", target: str = "de"
) -> httpx.Response:
    return await client.post("/translate", json={"q": q, "source": source, "target": target})


async def test_it_binds_loopback_on_a_free_port(server: LibreTranslateServer) -> None:
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"


async def test_a_known_sentence_comes_from_the_phrase_table(client: httpx.AsyncClient) -> None:
    response = await translate(client, f"  {BLOCKADE_ES}\n")
    assert response.status_code == 200
    assert response.json() == {"translatedText": BLOCKADE_DE}
    # any version of a sentence translates to its siblings
    response = await translate(client, "We stand with you", "en", "es")
    assert response.json() == {"translatedText": "Estamos a vuestro lado"}
    response = await translate(client, "Wir stehen an eurer Seite", "de", "en")
    assert response.json() == {"translatedText": "We stand with you"}


async def test_other_text_comes_back_visibly_marked(client: httpx.AsyncClient) -> None:
    response = await translate(client, "hola mundo")
    assert response.json() == {"translatedText": "[de] hola mundo"}
    # a known sentence into a language the table lacks is marked too
    response = await translate(client, BLOCKADE_ES, "es", "ja")
    assert response.json() == {"translatedText": f"[ja] {BLOCKADE_ES}"}


async def test_placeholders_come_back_byte_for_byte(client: httpx.AsyncClient) -> None:
    text = "Mirad ⟦0⟧ y avisad a ⟦12⟧, ⟦3⟧⟦4⟧ #Hoy"
    response = await translate(client, text)
    assert response.json()["translatedText"] == f"[de] {text}"


async def test_mangling_breaks_what_was_not_protected_and_keeps_placeholders(
    server: LibreTranslateServer, client: httpx.AsyncClient
) -> None:
    server.mangle()
    text = "Mirad https://Example.org/X, @Ana y #Huelga; ⟦0⟧ y ⟦17⟧@sol"
    translated = (await translate(client, text)).json()["translatedText"]
    assert translated == "[de] mirad https: //example.org/x, @ ana y # huelga; ⟦0⟧ y ⟦17⟧@ sol"
    # the phrase table's answers are mangled as well
    assert (await translate(client, BLOCKADE_ES)).json() == {"translatedText": BLOCKADE_DE.lower()}
    server.mangle(on=False)
    assert (await translate(client, "@Ana")).json() == {"translatedText": "[de] @Ana"}


async def test_a_list_of_texts_gets_a_list_back(client: httpx.AsyncClient) -> None:
    response = await translate(client, [BLOCKADE_ES, "hola", "⟦1⟧"])
    assert response.json() == {"translatedText": [BLOCKADE_DE, "[de] hola", "[de] ⟦1⟧"]}


async def test_auto_source_reports_the_detected_language(client: httpx.AsyncClient) -> None:
    response = await translate(client, BLOCKADE_ES, "auto", "en")
    assert response.json() == {
        "translatedText": "Blockade tomorrow at 7 in front of the building.",
        "detectedLanguage": {"confidence": 90.0, "language": "es"},
    }
    response = await translate(client, ["Wir stehen an eurer Seite", "Привіт, їжак"], "auto", "en")
    assert response.json()["detectedLanguage"] == [
        {"confidence": 90.0, "language": "de"},
        {"confidence": 90.0, "language": "uk"},
    ]
    response = await translate(client, "Nous sommes avec les locataires", "auto", "en")
    assert response.json()["detectedLanguage"] == {"confidence": 90.0, "language": "fr"}


async def test_form_encoded_requests_work_as_in_libretranslate(client: httpx.AsyncClient) -> None:
    form = {"q": "hola\r\nmundo", "source": "es", "target": "fr", "format": "text"}
    response = await client.post("/translate", data=form)
    assert response.json() == {"translatedText": "[fr] hola\nmundo"}


async def test_languages_lists_codes_names_and_targets(client: httpx.AsyncClient) -> None:
    languages = (await client.get("/languages")).json()
    codes = [language["code"] for language in languages]
    assert codes[:3] == ["en", "es", "de"]
    assert len(codes) == 17
    spanish = languages[1]
    assert spanish["name"] == "Spanish"
    assert set(spanish["targets"]) == set(codes) - {"es"}


async def test_the_language_set_is_configurable() -> None:
    async with (
        LibreTranslateServer(languages=["es", "de"]) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        languages = (await client.get("/languages")).json()
        assert languages == [
            {"code": "es", "name": "Spanish", "targets": ["de"]},
            {"code": "de", "name": "German", "targets": ["es"]},
        ]
        response = await translate(client, "hola", "es", "en")
        assert response.status_code == 400
        assert response.json() == {"error": "en is not supported"}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"q": "hola", "source": "es", "target": "xx"}, "xx is not supported"),
        ({"q": "hola", "source": "xx", "target": "de"}, "xx is not supported"),
        ({"source": "es", "target": "de"}, "Invalid request: missing q parameter"),
        ({"q": "hola", "target": "de"}, "Invalid request: missing source parameter"),
        (
            {"q": "hola", "source": "es", "target": "de", "format": "md"},
            "md format is not supported",
        ),
        (["not", "an", "object"], "Invalid JSON format"),
    ],
)
async def test_bad_requests_get_400_with_an_error(
    client: httpx.AsyncClient, body: object, error: str
) -> None:
    response = await client.post("/translate", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": error}


async def test_a_server_with_an_api_key_refuses_other_keys() -> None:
    async with (
        LibreTranslateServer(api_key="s3cret") as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        body = {"q": "hola", "source": "es", "target": "de"}
        for key in ("wrong", None):
            response = await client.post("/translate", json={**body, "api_key": key})
            assert response.status_code == 403
            assert response.json() == {"error": "Invalid API key"}
        response = await client.post("/translate", json={**body, "api_key": "s3cret"})
        assert response.json() == {"translatedText": "[de] hola"}
        response = await client.post("/translate", data={**body, "api_key": "s3cret"})
        assert response.status_code == 200


async def test_fail_answers_500_to_the_next_n_calls(
    server: LibreTranslateServer, client: httpx.AsyncClient
) -> None:
    server.fail(2)
    statuses = [(await translate(client, "hola")).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    server.fail()
    statuses = [(await translate(client, "hola")).status_code for _ in range(3)]
    assert statuses == [500, 500, 500]
    assert "error" in (await translate(client, "hola")).json()
    server.reset()
    assert (await translate(client, "hola")).status_code == 200


async def test_hang_makes_the_client_time_out_and_reset_ends_it(
    server: LibreTranslateServer, client: httpx.AsyncClient
) -> None:
    server.hang()
    with pytest.raises(httpx.ReadTimeout):
        await client.post(
            "/translate", json={"q": "hola", "source": "es", "target": "de"}, timeout=0.2
        )
    assert server.calls == 1  # the call arrived; it was never answered
    server.reset()
    assert (await translate(client, "hola")).json() == {"translatedText": "[de] hola"}


async def test_stop_returns_promptly_while_calls_hang_or_crawl() -> None:
    server = LibreTranslateServer()
    await server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        server.hang()
        hung = asyncio.create_task(translate(client, "hola"))
        await eventually(lambda: server.calls == 1, what="the first call hanging")
        server.hang(on=False)
        server.slow(30)
        crawling = asyncio.create_task(translate(client, "adiós"))
        await eventually(lambda: server.calls == 2, what="the second call crawling")
        started = time.monotonic()
        await server.stop()
        assert time.monotonic() - started < 1.5
        for task in (hung, crawling):
            assert (await task).status_code == 503


async def test_slow_delays_every_answer(
    server: LibreTranslateServer, client: httpx.AsyncClient
) -> None:
    server.slow(0.2)
    started = time.monotonic()
    assert (await translate(client, "hola")).status_code == 200
    assert time.monotonic() - started >= 0.2


async def test_rate_limit_answers_429_to_the_next_n_calls(
    server: LibreTranslateServer, client: httpx.AsyncClient
) -> None:
    server.rate_limit(2)
    responses = [await translate(client, "hola") for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].json() == {"error": "Too many request limits violation"}


async def test_forbid_answers_403_to_every_call(
    server: LibreTranslateServer, client: httpx.AsyncClient
) -> None:
    server.forbid()
    for _ in range(2):
        response = await translate(client, "hola")
        assert response.status_code == 403
        assert response.json() == {"error": "Invalid API key"}
    server.forbid(on=False)
    assert (await translate(client, "hola")).status_code == 200


async def test_calls_are_counted_per_pair_and_logged(
    server: LibreTranslateServer, client: httpx.AsyncClient
) -> None:
    await translate(client, "hola", "es", "de")
    await translate(client, ["uno", "dos"], "es", "de")
    await translate(client, "hi", "auto", "fr")
    server.fail(1)
    await translate(client, "again", "en", "fr")  # failed calls count too
    assert server.calls == 4
    assert server.pairs == {("es", "de"): 2, ("auto", "fr"): 1, ("en", "fr"): 1}
    assert server.log == [
        ("es", "de", "hola"),
        ("es", "de", "uno"),
        ("es", "de", "dos"),
        ("auto", "fr", "hi"),
        ("en", "fr", "again"),
    ]
    server.reset()
    assert (server.calls, server.pairs, server.log, server.max_in_flight) == (0, {}, [], 0)


async def test_max_in_flight_shows_calls_ran_concurrently(
    server: LibreTranslateServer, client: httpx.AsyncClient
) -> None:
    await translate(client, "one at a time")
    assert server.max_in_flight == 1
    server.slow(0.2)
    responses = await asyncio.gather(*(translate(client, f"texto {i}") for i in range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert server.max_in_flight >= 3
    assert server.in_flight == 0


async def test_phrases_can_be_added_at_run_time(
    server: LibreTranslateServer, client: httpx.AsyncClient
) -> None:
    server.add_phrases(
        {"Huelga de alquileres": {"es": "Huelga de alquileres", "en": "Rent strike"}}
    )
    assert (await translate(client, "Huelga de alquileres", "es", "en")).json() == {
        "translatedText": "Rent strike"
    }
    assert (await translate(client, "Rent strike", "auto", "es")).json() == {
        "translatedText": "Huelga de alquileres",
        "detectedLanguage": {"confidence": 90.0, "language": "en"},
    }
    # adding a language to a known sentence keeps its other versions
    server.add_phrases({"We stand with you": {"it": "Siamo al vostro fianco"}})
    assert (await translate(client, "Wir stehen an eurer Seite", "de", "it")).json() == {
        "translatedText": "Siamo al vostro fianco"
    }
    assert (await translate(client, "We stand with you", "en", "es")).json() == {
        "translatedText": "Estamos a vuestro lado"
    }


async def test_control_endpoints_over_http(
    server: LibreTranslateServer, client: httpx.AsyncClient
) -> None:
    async def control(action: str, body: object = None) -> httpx.Response:
        return await client.post(f"/_sandbox/{action}", json=body)

    assert (await control("fail", {"n": 1})).status_code == 200
    assert (await translate(client, "hola")).status_code == 500
    assert (await translate(client, "hola")).status_code == 200
    await control("rate_limit", {"n": 1})
    assert (await translate(client, "hola")).status_code == 429
    await control("forbid")
    assert (await translate(client, "hola")).status_code == 403
    await control("forbid", {"on": False})
    await control("mangle", {"on": True})
    assert (await translate(client, "Hola @Ana")).json() == {"translatedText": "[de] hola @ ana"}
    await control("phrases", {"Piquete": {"es": "Piquete", "de": "Streikposten"}})
    assert (await translate(client, "Piquete")).json() == {"translatedText": "streikposten"}
    await control("slow", {"seconds": 0.1})
    started = time.monotonic()
    await translate(client, "hola")
    assert time.monotonic() - started >= 0.1

    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["calls"] == 7
    assert stats["pairs"] == [{"source": "es", "target": "de", "count": 7}]
    assert stats["log"][-1] == ["es", "de", "hola"]
    assert stats["max_in_flight"] == 1

    await control("hang")
    with pytest.raises(httpx.ReadTimeout):
        await client.post(
            "/translate", json={"q": "x", "source": "es", "target": "fr"}, timeout=0.2
        )
    reset = await control("reset")
    assert reset.json() == {
        "calls": 0,
        "pairs": [],
        "log": [],
        "in_flight": 1,  # the hung call, now released, has yet to finish
        "max_in_flight": 1,
    }
    assert (await translate(client, "Hola")).json() == {"translatedText": "[de] Hola"}
    assert server.calls == 1


@pytest.mark.parametrize(
    ("action", "body", "status"),
    [("slow", {}, 400), ("rate_limit", {"n": "many"}, 400), ("phrases", {"a": 1}, 400),
     ("fail", [1], 400), ("explode", {}, 404)],
)  # fmt: skip
async def test_bad_control_requests_are_refused(
    client: httpx.AsyncClient, action: str, body: object, status: int
) -> None:
    response = await client.post(f"/_sandbox/{action}", json=body)
    assert response.status_code == status
    assert "error" in response.json()


def test_it_runs_standalone_and_stops_on_sigint() -> None:
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.libretranslate", "--port", "0", "--languages", "es,de"],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("LibreTranslate sandbox at http://127.0.0.1:")
        url = line.split(" at ")[1].strip()
        with httpx.Client(base_url=url, timeout=5) as client:
            response = client.post("/translate", json={"q": "hola", "source": "es", "target": "de"})
            assert response.json() == {"translatedText": "[de] hola"}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
