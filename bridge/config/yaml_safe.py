"""Read a config file's YAML without letting the file decide how much memory or time it takes.

A config file may come from anywhere (a pasted example, a compromised deploy repository), and
the loader runs before anything else, as the operator: so the file is bounded before it is
parsed. Over ``MAX_BYTES`` it is refused unread. Aliases may add at most ``MAX_ALIAS_VALUES``
values in total (a "billion laughs" file of a few hundred bytes would otherwise expand to
billions), an alias may not contain itself, and nesting stops at ``MAX_DEPTH`` (PyYAML's
composer recurses once per level). Each refusal is one ``YamlRefused`` with its line.

The loader is a ``SafeLoader`` subclass of our own: the global ``yaml.SafeLoader`` is left
untouched for everyone else. ``parse`` also returns the line of every key path, so that the
loader can say where a problem is, and reports keys given twice (YAML keeps the last one
silently).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bridge.model.errors import ConfigProblem

Path_ = tuple[str | int, ...]

MAX_BYTES = 1_000_000  # a config for hundreds of rooms is well under 100 kB
MAX_ALIAS_VALUES = 10_000  # values aliases may add to the document, all aliases together
MAX_DEPTH = 64  # levels of nesting; a config needs about 5


class YamlRefused(Exception):
    """The file is too big, too deep or expands too much: one line, with its line if known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def read_bounded(file: Path) -> str:
    """The file's text, refused unread when it is over ``MAX_BYTES`` (OSError, UnicodeError
    and FileNotFoundError pass through for the caller to word)."""
    with file.open("rb") as stream:
        data = stream.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            stream.seek(0, 2)
            size = stream.tell()
            raise YamlRefused(
                f"is {size / 1_000_000:.1f} MB; a config file may be at most "
                f"{MAX_BYTES // 1_000_000} MB"
            )
    return data.decode("utf-8")


class _BoundedLoader(yaml.SafeLoader):
    """A SafeLoader that counts what aliases add and how deep the document goes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._added = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1
            node = super().compose_node(parent, index)
            self._added += self._size(node, line) if node is not None else 0
            if self._added > MAX_ALIAS_VALUES:
                raise YamlRefused(
                    f"aliases (*name) expand to more than {MAX_ALIAS_VALUES} values; "
                    "write the values out or use fewer aliases",
                    line,
                )
            return node
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1
                raise YamlRefused(f"the document is nested too deeply (over {MAX_DEPTH})", line)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _size(self, node: yaml.Node, line: int) -> int:
        """How many values ``node`` stands for once every alias inside it is expanded."""
        known = self._sizes.get(id(node))
        if known == -1:
            raise YamlRefused("an alias (*name) refers to a value that contains it", line)
        if known is not None:
            return known
        self._sizes[id(node)] = -1  # in progress: meeting it again is a cycle
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(self._size(child, line) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(self._size(k, line) + self._size(v, line) for k, v in node.value)
        total = min(total, MAX_ALIAS_VALUES + 1)  # past the cap the exact figure is moot
        self._sizes[id(node)] = total
        return total


def parse(text: str) -> tuple[Any, dict[Path_, int], list[ConfigProblem]]:
    """The document, the line of each key path, and the keys given twice.

    Raises YamlRefused (bounds) or yaml.YAMLError (syntax)."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    problems: list[ConfigProblem] = []

    def walk(n: yaml.Node, path: Path_) -> None:
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in n.value:
                key = key_node.value
                line = key_node.start_mark.line + 1
                if key in seen and key != "<<":
                    problems.append(
                        ConfigProblem(
                            format_path((*path, key)),
                            f"is given twice (lines {seen[key]} and {line}); keep one",
                            line,
                        )
                    )
                seen[key] = line
                lines[(*path, key)] = line
                walk(value_node, (*path, key))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*path, i))

    if node is not None:
        walk(node, ())
    return data, lines, problems
