"""parse_mode HTML turned into plain text plus entities, and `parse` for every parse_mode.

The HTML parser follows Telegram's (TDLib's) rules: the supported tags only, `&lt;` `&gt;`
`&amp;` `&quot;` and numeric character references, and the same error texts ("Unsupported start
tag "x" at byte offset 3", "Can't find end tag corresponding to start tag "b"", ...). Offsets in
errors are UTF-8 byte offsets; entity offsets are UTF-16 code units.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sandbox.telegram.entities import (
    JSON,
    MarkupError,
    Opened,
    TextBuilder,
    normalize_url,
)
from sandbox.telegram.markdown import parse_markdown, parse_markdown_v2

UserLookup = Callable[[int], JSON | None]

_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_HTML_TAGS = frozenset({*_SIMPLE, "a", "span", "tg-emoji", "pre", "code", "blockquote"})
_CHAR_REF = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(lt|gt|amp|quot));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_USER_URL = re.compile(r"tg://user\?id=(\d+)$", re.IGNORECASE)


def _link(out: TextBuilder, opened: Opened, users: UserLookup | None) -> None:
    url = opened.argument
    if url is None:
        url = "".join(out.pieces[opened.out_index :])
    mention = _USER_URL.match(url.strip())
    if mention:
        user = users(int(mention.group(1))) if users else None
        if user is not None:
            out.add("text_mention", opened.offset, user=user)
        return
    normalized = normalize_url(url)
    if normalized:
        out.add("text_link", opened.offset, url=normalized)


def _close_html(out: TextBuilder, opened: Opened, users: UserLookup | None) -> None:
    tag, start = opened.tag, opened.offset
    if out.units <= start:
        return
    same_range = (
        out.entities
        and out.entities[-1]["offset"] == start
        and out.entities[-1]["length"] == out.units - start
    )
    if tag in _SIMPLE:
        out.add(_SIMPLE[tag], start)
    elif tag == "span":
        out.add("spoiler", start)
    elif tag == "a":
        _link(out, opened, users)
    elif tag == "tg-emoji":
        if not (opened.argument or "").isdigit():
            raise MarkupError("Invalid custom emoji identifier specified")
        out.add("custom_emoji", start, custom_emoji_id=opened.argument)
    elif tag == "blockquote":
        out.add("expandable_blockquote" if opened.argument else "blockquote", start)
    elif tag == "pre":
        if same_range and out.entities[-1]["type"] == "code":
            out.entities[-1]["type"] = "pre"
        else:
            out.add("pre", start)
    elif same_range and out.entities[-1]["type"] == "pre":  # <pre><code class=...>
        if opened.argument:
            out.entities[-1]["language"] = opened.argument
    elif opened.argument:
        out.add("code", start, language=opened.argument)
    else:
        out.add("code", start)


def _attributes(text: str, i: int, tag: str, at: int) -> tuple[dict[str, str], int]:
    """Reads a start tag's attributes from `i` up to and past its '>'."""
    n, attributes = len(text), dict[str, str]()
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise MarkupError(f"Unclosed start tag at byte offset {at}")
        if text[i] == ">":
            return attributes, i + 1
        name_start = i
        while i < n and not text[i].isspace() and text[i] not in "=>/\"'":
            i += 1
        name = text[name_start:i].lower()
        if not name:
            raise MarkupError(f'Empty attribute name in the tag "{tag}" at byte offset {at}')
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise MarkupError(f'Unclosed start tag "{tag}" at byte offset {at}')
        if text[i] != "=":
            attributes[name] = ""
            continue
        i += 1
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise MarkupError(f'Unclosed start tag "{tag}" at byte offset {at}')
        if text[i] in "\"'":
            quote, i, value = text[i], i + 1, []
            while i < n and text[i] != quote:
                ref = _CHAR_REF.match(text, i)
                if ref:
                    value.append(_decode(ref))
                    i = ref.end()
                else:
                    value.append(text[i])
                    i += 1
            i += 1
            attributes[name] = "".join(value)
        else:
            token_start = i
            while i < n and (text[i].isalnum() or text[i] in ".-"):
                i += 1
            if i < n and not text[i].isspace() and text[i] != ">":
                offset = len(text[:i].encode())
                raise MarkupError(f"Unexpected end of name token at byte offset {offset}")
            attributes[name] = text[token_start:i].lower()


def _decode(ref: re.Match[str]) -> str:
    if ref.group(3):
        return _NAMED[ref.group(3)]
    code = int(ref.group(1)) if ref.group(1) else int(ref.group(2), 16)
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"


def _argument(tag: str, attributes: dict[str, str], at: int) -> str | None:
    if tag == "a":
        return attributes.get("href")
    if tag == "code":
        cls = attributes.get("class", "")
        return cls.removeprefix("language-") if cls.startswith("language-") else None
    if tag == "span":
        if attributes.get("class") != "tg-spoiler":
            raise MarkupError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        return "spoiler"
    if tag == "tg-emoji":
        return attributes.get("emoji-id")
    if tag == "blockquote":
        return "expandable" if "expandable" in attributes else None
    return None


def parse_html(text: str, users: UserLookup | None = None) -> tuple[str, list[JSON]]:
    """HTML parse_mode: the text without tags, and the entities the tags stood for."""
    out, stack = TextBuilder(), list[Opened]()
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            ref = _CHAR_REF.match(text, i)
            out.emit(_decode(ref) if ref else "&")
            i = ref.end() if ref else i + 1
            continue
        if char != "<":
            out.emit(char)
            i += 1
            continue
        at = len(text[:i].encode())
        if text.startswith("</", i):
            if not stack:
                raise MarkupError(f"Unexpected end tag at byte offset {at}")
            i += 2
            name_start = i
            while i < n and not text[i].isspace() and text[i] != ">":
                i += 1
            name = text[name_start:i].lower()
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ">":
                raise MarkupError(f"Unclosed end tag at byte offset {at}")
            i += 1
            opened = stack.pop()
            if name and name != opened.tag:
                raise MarkupError(
                    f'Unmatched end tag at byte offset {at}, expected "</{opened.tag}>", '
                    f'found "</{name}>"'
                )
            _close_html(out, opened, users)
            continue
        i += 1
        name_start = i
        while i < n and not text[i].isspace() and text[i] != ">":
            i += 1
        if i >= n:
            raise MarkupError(f"Unclosed start tag at byte offset {at}")
        tag = text[name_start:i].lower()
        if tag not in _HTML_TAGS:
            raise MarkupError(f'Unsupported start tag "{tag}" at byte offset {at}')
        attributes, i = _attributes(text, i, tag, at)
        argument = _argument(tag, attributes, at)
        stack.append(Opened(tag, argument, out.units, len(out.pieces), at))
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return out.text(), out.entities


def parse(text: str, mode: str | None, users: UserLookup | None = None) -> tuple[str, list[JSON]]:
    """Text and entities for a parse_mode (None: the text as it is, no entities)."""
    if not mode:
        return text, []
    key = mode.lower()
    if key == "html":
        return parse_html(text, users)
    if key == "markdownv2":
        return parse_markdown_v2(text)
    if key == "markdown":
        return parse_markdown(text)
    raise MarkupError(f'Unsupported parse_mode "{mode}"')


__all__ = ["MarkupError", "parse", "parse_html"]
