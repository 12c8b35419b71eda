"""ISO 639-1 language codes, the only language codes the configuration accepts."""

from __future__ import annotations

# The 183 two-letter codes of ISO 639-1 (``sh`` and ``mo`` are deprecated and left out).
ISO_639_1: frozenset[str] = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky
    la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny
    oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss
    st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo
    za zh zu
    """.split()
)


def check_language(code: str) -> str:
    """Return ``code`` normalized to lower case, or raise ValueError saying what is wrong."""
    norm = code.strip().lower()
    if norm in ISO_639_1:
        return norm
    hint = ""
    if "-" in norm or "_" in norm:
        base = norm.replace("_", "-").split("-", 1)[0]
        if base in ISO_639_1:
            hint = f" (use {base!r}: regional variants are not supported)"
    raise ValueError(f"{code!r} is not an ISO 639-1 language code{hint}")
