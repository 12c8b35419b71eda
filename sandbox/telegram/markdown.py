"""parse_mode MarkdownV2 and legacy Markdown, turned into plain text plus entities.

MarkdownV2 wants every reserved character outside an entity escaped with '\\' and answers
"Character '.' is reserved and must be escaped with the preceding '\\'" otherwise, as Telegram
does; legacy Markdown knows *bold*, _italic_, `code`, ```pre``` and [text](url), unnested.
"""

from __future__ import annotations

import re

from sandbox.telegram.entities import JSON, MarkupError, Opened, TextBuilder, normalize_url

_V2_RESERVED = "_*[]()~`>#+-=|{}.!"
_V2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


def _at(text: str, index: int) -> int:
    """The UTF-8 byte offset of `index`, as Telegram's error texts give positions."""
    return len(text[:index].encode())


def _v2_marker(text: str, i: int) -> tuple[str, int] | None:
    """The MarkdownV2 formatting marker at `i`, as (entity type, marker length)."""
    if text.startswith("__", i):
        return "underline", 2
    if text.startswith("||", i):
        return "spoiler", 2
    return {"_": ("italic", 1), "*": ("bold", 1), "~": ("strikethrough", 1)}.get(text[i])


def parse_markdown_v2(text: str) -> tuple[str, list[JSON]]:
    """MarkdownV2 parse_mode: *bold* _italic_ __underline__ ~strike~ ||spoiler|| `code`,
    ```pre```, [text](url) and '>' quote lines, with every reserved character escaped by '\\'."""
    out, stack = TextBuilder(), list[Opened]()
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        top = stack[-1] if stack else None
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.emit(text[i + 1])
            i += 2
        elif top and top.tag in ("code", "pre"):
            fence = "`" if top.tag == "code" else "```"
            if text.startswith(fence, i):
                stack.pop()
                extra = {"language": top.argument} if top.argument else {}
                out.add(top.tag, top.offset, **extra)
                i += len(fence)
            else:
                out.emit(char)
                i += 1
        elif text.startswith("```", i):
            fence_at = _at(text, i)
            i += 3
            line_end = text.find("\n", i)
            language = text[i:line_end] if line_end >= 0 else ""
            if line_end >= 0 and language and not any(c.isspace() for c in language):
                i = line_end + 1
            else:
                language = ""
                i = line_end + 1 if line_end == i else i
            stack.append(Opened("pre", language or None, out.units, len(out.pieces), fence_at))
        elif char == "`":
            stack.append(Opened("code", None, out.units, len(out.pieces), _at(text, i)))
            i += 1
        elif char == "[":
            stack.append(Opened("text_link", None, out.units, len(out.pieces), _at(text, i)))
            i += 1
        elif char == "]" and top and top.tag == "text_link":
            stack.pop()
            i += 1
            url = ""
            if i < n and text[i] == "(":
                close = i + 1
                while close < n and text[close] != ")":
                    close += 2 if text[close] == "\\" else 1
                if close >= n:
                    raise MarkupError(f"Can't find end of a URL at byte offset {_at(text, i)}")
                url = re.sub(r"\\(.)", r"\1", text[i + 1 : close])
                i = close + 1
            normalized = normalize_url(url or "".join(out.pieces[top.out_index :]))
            if normalized:
                out.add("text_link", top.offset, url=normalized)
        elif char == ">" and (i == 0 or text[i - 1] == "\n"):
            if not (top and top.tag == "blockquote"):
                stack.append(Opened("blockquote", None, out.units, len(out.pieces), _at(text, i)))
            i += 1
        elif char == "\n" and top and top.tag == "blockquote" and not text.startswith("\n>", i):
            stack.pop()
            out.add("blockquote", top.offset)
            out.emit(char)
            i += 1
        elif (marker := _v2_marker(text, i)) is not None:
            kind, size = marker
            if top and top.tag == kind:
                stack.pop()
                out.add(kind, top.offset)
            else:
                stack.append(Opened(kind, None, out.units, len(out.pieces), _at(text, i)))
            i += size
        elif char in _V2_RESERVED:
            raise MarkupError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            out.emit(char)
            i += 1
    if stack and stack[-1].tag == "blockquote":
        out.add("blockquote", stack.pop().offset)
    if stack:
        kind = _V2_NAMES.get(stack[-1].tag, stack[-1].tag)
        raise MarkupError(f"Can't find end of {kind} entity at byte offset {stack[-1].begin}")
    return out.text(), out.entities


def parse_markdown(text: str) -> tuple[str, list[JSON]]:
    """Legacy Markdown parse_mode: *bold* _italic_ `code` ```pre``` [text](url), no nesting."""
    out = TextBuilder()
    i, n = 0, len(text)
    closers = {"*": "bold", "_": "italic", "`": "code"}
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.emit(text[i + 1])
            i += 2
            continue
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise MarkupError(
                    f"Can't find end of the entity starting at byte offset {_at(text, i)}"
                )
            start = out.units
            out.emit(text[i + 3 : end])
            out.add("pre", start)
            i = end + 3
        elif char in closers:
            end = text.find(char, i + 1)
            if end < 0:
                raise MarkupError(
                    f"Can't find end of the entity starting at byte offset {_at(text, i)}"
                )
            start = out.units
            out.emit(text[i + 1 : end])
            out.add(closers[char], start)
            i = end + 1
        elif char == "[":
            match = re.match(r"\[([^\]]*)\]\(([^)]*)\)", text[i:])
            if not match:
                raise MarkupError(
                    f"Can't find end of the entity starting at byte offset {_at(text, i)}"
                )
            start = out.units
            out.emit(match.group(1))
            url = normalize_url(match.group(2))
            if url:
                out.add("text_link", start, url=url)
            i += match.end()
        else:
            out.emit(char)
            i += 1
    return out.text(), out.entities
