"""Telegram's fixed set of reaction emoji, written out so that registering the platform
does not load python-telegram-bot.

Only these reactions exist on Telegram (🌍 is not one of them, 🕊 is), so the config check
refuses a circle's share reaction that Telegram rooms could never give. They are written, and
compared, without variation selectors (U+FE0F). The set is the one of
python-telegram-bot's ``telegram.constants.ReactionEmoji``; a test compares the two, so a
library upgrade that adds a reaction shows there.
"""

from __future__ import annotations

# in python-telegram-bot's order
# fmt: off
REACTIONS = frozenset({
    "👍", "👎", "❤", "🔥", "🥰", "👏", "😁", "🤔", "🤯", "😱", "🤬", "😢", "🎉", "🤩", "🤮",
    "💩", "🙏", "👌", "🕊", "🤡", "🥱", "🥴", "😍", "🐳", "❤\u200d🔥", "🌚", "🌭", "💯",
    "🤣", "⚡", "🍌", "🏆", "💔", "🤨", "😐", "🍓", "🍾", "💋", "🖕", "😈", "😴", "😭", "🤓",
    "👻", "👨\u200d💻", "👀", "🎃", "🙈", "😇", "😨", "🤝", "✍", "🤗", "🫡", "🎅", "🎄",
    "☃", "💅", "🤪", "🗿", "🆒", "💘", "🙉", "🦄", "😘", "💊", "🙊", "😎", "👾",
    "🤷\u200d♂", "🤷", "🤷\u200d♀", "😡",
})
# fmt: on
