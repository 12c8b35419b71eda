"""A local Telegram Bot API server for tests, benchmarks and demos: api.telegram.org, offline.

python-telegram-bot (or any Bot API client) talks to it unchanged over HTTP; tests play the
humans (post text or media, edit, react, add members, migrate a group) through `BotApiServer`
or the JSON control API under /_sandbox/, and switch on flood limits and faults. Everything is
in memory; the only outgoing calls are webhook deliveries, and only to this machine.

Modules, one job each:

- `server`: BotApiServer, the lifecycle (serving over HTTP inside the caller's loop)
- `console`: the operator's controls (clock, limits, faults) and what happened (calls, 429s)
- `people`: what humans do (setup, posts, edits, reactions, topics, migration)
- `world`: the state and the shared rules (membership, placement, delivery, privacy mode)
- `model`: the state's records and their Bot API JSON shapes
- `updates`, `sending`, `media`, `chats`: the Bot API methods
- `webhook`: pushing updates to a webhook on 127.0.0.1, ::1 or localhost
- `api`: the method registry, flood pacing and the call record
- `routes`, `control`: the HTTP faces (Bot API and files; /_sandbox/)
- `params`: request parameters from query strings, forms, multipart and JSON
- `markup`, `markdown`: parse_mode HTML, MarkdownV2 and Markdown into text plus entities
- `entities`: UTF-16 entity arithmetic, trimming, auto-detected entities
- `limits`, `faults`: 429 flood limits with a time scale; 5xx/429/timeouts on demand
- `files`: stored files, their Message fields (PhotoSize, Document, Voice, Sticker), getFile
"""

from sandbox.telegram.api import Call
from sandbox.telegram.limits import Refusal
from sandbox.telegram.model import ANONYMOUS_ADMIN_ID
from sandbox.telegram.server import BotApiServer, bot_kwargs
from sandbox.telegram.world import ApiError

__all__ = ["ANONYMOUS_ADMIN_ID", "ApiError", "BotApiServer", "Call", "Refusal", "bot_kwargs"]
