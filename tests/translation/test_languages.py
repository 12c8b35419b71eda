"""Language codes: the configuration takes the two-letter codes of ISO 639-1, in any case and
with spaces around, and refuses anything else with a message that names the code and, for a
regional variant, the code to use instead."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.config.load import load_config
from bridge.model.errors import ConfigError
from tests.helpers import write_config
from translation.languages import ISO_639_1, check_language


@pytest.mark.parametrize("code", ["es", "de", "en", "ca", "uk", "ar", "zh", "he", "yi", "zu"])
def test_iso_639_1_codes_are_accepted(code: str) -> None:
    assert check_language(code) == code


@pytest.mark.parametrize(("given_code", "code"), [("ES", "es"), (" de ", "de"), ("Pt\n", "pt")])
def test_a_code_is_taken_in_any_case_and_without_surrounding_spaces(
    given_code: str, code: str
) -> None:
    assert check_language(given_code) == code


def test_every_code_of_the_standard_is_accepted_and_two_lowercase_letters() -> None:
    assert len(ISO_639_1) == 183
    for code in ISO_639_1:
        assert len(code) == 2
        assert set(code) <= set(string.ascii_lowercase)
        assert check_language(code.upper()) == code


@pytest.mark.parametrize(
    "code",
    ["xx", "", "  ", "e", "esp", "spa", "Spanish", "sh", "mo", "iw", "ji", "in", "e s", "es."],
)
def test_anything_else_is_refused_naming_the_code(code: str) -> None:
    with pytest.raises(ValueError, match=_exactly(f"{code!r} is not an ISO 639-1 language code")):
        check_language(code)


@pytest.mark.parametrize(
    ("code", "base"), [("pt-BR", "pt"), ("zh_TW", "zh"), ("es-419", "es"), ("EN-us", "en")]
)
def test_a_regional_variant_is_refused_with_the_code_to_use(code: str, base: str) -> None:
    message = (
        f"{code!r} is not an ISO 639-1 language code "
        f"(use {base!r}: regional variants are not supported)"
    )
    with pytest.raises(ValueError, match=_exactly(message)):
        check_language(code)


def test_a_variant_of_no_language_gets_no_hint() -> None:
    with pytest.raises(ValueError, match=_exactly("'xx-YY' is not an ISO 639-1 language code")):
        check_language("xx-YY")


@given(st.text(max_size=12))
def test_any_text_is_either_a_code_of_the_standard_or_refused_by_name(text: str) -> None:
    if text.strip().lower() in ISO_639_1:
        assert check_language(text) == text.strip().lower()
    else:
        refused = "^" + re.escape(f"{text!r} is not an ISO 639-1 language code")
        with pytest.raises(ValueError, match=refused):
            check_language(text)


def test_a_room_with_a_regional_variant_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    cfg: dict[str, object] = {
        "bots": [{"id": "a", "platform": "memory"}],
        "rooms": [{"id": "r", "bot": "a", "chat": "c", "language": "pt-BR", "label": "R"}],
    }
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path / "c.yaml", cfg), env={})
    (problem,) = info.value.problems
    assert str(problem).startswith(
        "rooms[0].language: 'pt-BR' is not an ISO 639-1 language code "
        "(use 'pt': regional variants are not supported)"
    )


def _exactly(message: str) -> str:
    return f"^{re.escape(message)}$"
