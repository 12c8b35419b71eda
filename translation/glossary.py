"""The glossary: terms never translated, and terms whose translation is forced per language.

```yaml
keep:                      # never translated: names, slogans, hashtags
  - Deutsche Wohnen
  - Blackstone
terms:                     # forced translations, matched as whole words in any case
  gentrification:
    es: gentrificación
    de: Gentrifizierung
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from translation.languages import ISO_639_1


class GlossaryError(ValueError):
    """A broken glossary file; ``line`` is where, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Glossary:
    keep: tuple[str, ...] = ()
    terms: dict[str, dict[str, str]] = field(default_factory=dict)


class _Loader(yaml.SafeLoader):
    """A loader of our own, so the global SafeLoader is never changed."""


def load_glossary(path: Path) -> Glossary:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GlossaryError(f"cannot be read: {exc.strerror or exc}") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or "not valid YAML"
        raise GlossaryError(f"not valid YAML: {reason}", mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()
    lines = _key_lines(node)
    if not isinstance(data, dict):
        raise GlossaryError("must be a mapping with keep and/or terms", 1)
    unknown = set(data) - {"keep", "terms"}
    if unknown:
        key = sorted(unknown)[0]
        raise GlossaryError(f"{key!r} is not a glossary key (keep, terms)", lines.get(key))
    keep = data.get("keep") or []
    if not isinstance(keep, list) or not all(isinstance(k, str) and k.strip() for k in keep):
        raise GlossaryError("keep must be a list of terms", lines.get("keep"))
    terms = data.get("terms") or {}
    if not isinstance(terms, dict):
        raise GlossaryError("terms must map a term to {language: translation}", lines.get("terms"))
    clean: dict[str, dict[str, str]] = {}
    for term, forced in terms.items():
        where = lines.get(f"terms.{term}", lines.get("terms"))
        if not isinstance(term, str) or not isinstance(forced, dict) or not forced:
            raise GlossaryError(f"terms.{term}: give {{language: translation}}", where)
        for lang, value in forced.items():
            if lang not in ISO_639_1:
                raise GlossaryError(f"terms.{term}: {lang!r} is not an ISO 639-1 code", where)
            if not isinstance(value, str) or not value.strip():
                raise GlossaryError(f"terms.{term}.{lang}: give the translation as text", where)
        clean[term] = {str(k): str(v) for k, v in forced.items()}
    return Glossary(tuple(str(k) for k in keep), clean)


def _key_lines(node: yaml.Node | None) -> dict[str, int]:
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[str(key.value)] = key.start_mark.line + 1
            if isinstance(value, yaml.MappingNode):
                for sub, _ in value.value:
                    lines[f"{key.value}.{sub.value}"] = sub.start_mark.line + 1
    return lines
