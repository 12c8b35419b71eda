"""Protected spans: links, mentions, hashtags, emoji, code and glossary terms come back
unchanged and in place, even from a translator that mangles what it is given."""

from __future__ import annotations

from sandbox.libretranslate import LibreTranslateServer
from translation.glossary import Glossary
from translation.protect import Mark
from translation.providers import LibreTranslate
from translation.translator import ChainTranslator


async def test_protected_spans_and_glossary_terms_come_back_unchanged_and_in_place(
    libre: LibreTranslateServer,
) -> None:
    libre.mangle()  # lowercases, and breaks URLs, @mentions and #hashtags it is given
    glossary = Glossary(
        keep=("Deutsche Wohnen",), terms={"gentrification": {"es": "gentrificación"}}
    )
    translator = ChainTranslator([LibreTranslate(libre.url)], glossary=glossary)
    text = (
        "Deutsche Wohnen pushes gentrification: see https://example.org/x?a=1 "
        "and ask @ana_b about #MietenWahnsinn ✊🏽, or run `rent --check` now"
    )
    code_at = text.index("`rent --check`")
    link_at = text.index("https://")
    marks = [
        Mark(code_at, code_at + len("`rent --check`"), "code"),
        Mark(
            link_at, link_at + len("https://example.org/x?a=1"), "link", "https://example.org/x?a=1"
        ),
        Mark(0, 15, "bold"),  # formatting on plain words does not survive translation
    ]
    try:
        result = (await translator.translate(text, "en", {"es"}, marks))["es"]
    finally:
        await translator.close()
    assert result.status == "translated"
    out = result.text
    assert out.startswith("[es] ")  # the provider did translate (the sandbox marks it)
    for kept in ("Deutsche Wohnen", "https://example.org/x?a=1", "@ana_b", "#MietenWahnsinn",
                 "✊🏽", "`rent --check`", "gentrificación"):  # fmt: skip
        assert kept in out, kept
    assert "gentrification" not in out
    # in place: the order of the protected pieces is the order of the original
    order = ["Deutsche Wohnen", "gentrificación", "https://", "@ana_b", "#Mieten", "`rent"]
    assert [out.index(p) for p in order] == sorted(out.index(p) for p in order)
    kinds = {m.kind: out[m.start : m.end] for m in result.marks}
    assert kinds == {"code": "`rent --check`", "link": "https://example.org/x?a=1"}
