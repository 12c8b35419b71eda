"""Bot API methods about the bot itself and its updates: getMe, getUpdates (long polling),
setWebhook / deleteWebhook / getWebhookInfo, the bot's command list, and the accepted no-ops.

getUpdates follows Telegram: updates with an id below `offset` are confirmed and dropped; a
negative offset keeps only the last -offset updates; `timeout` long-polls and returns as soon
as an update is queued; `allowed_updates` is remembered for later calls and applies to updates
created after it; a second getUpdates ends the first with 409 Conflict, and so does a webhook.
While a webhook is set its updates are pushed to it (see `webhook`) and getUpdates answers 409.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

from sandbox.telegram.api import Api, async_method, constant, method
from sandbox.telegram.entities import JSON
from sandbox.telegram.model import BotState, Webhook
from sandbox.telegram.params import Params
from sandbox.telegram.webhook import check_url
from sandbox.telegram.world import UPDATE_KINDS, ApiError, bad_request

CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


@method("getMe")
def get_me(api: Api, state: BotState, params: Params) -> object:
    account = state.account
    return {
        **account.user(),
        "can_join_groups": account.can_join_groups,
        "can_read_all_group_messages": account.can_read_all_group_messages,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def _confirm(state: BotState, offset: int) -> None:
    if offset > 0:
        while state.updates and state.updates[0]["update_id"] < offset:
            state.updates.popleft()
    elif offset < 0:
        while len(state.updates) > -offset:
            state.updates.popleft()


def _timeout(params: Params) -> float:
    raw = params.raw("timeout")
    if raw in (None, ""):
        return 0.0
    try:
        return max(0.0, float(str(raw)))
    except ValueError:
        raise bad_request("invalid timeout specified") from None


def _allowed_updates(state: BotState, params: Params) -> None:
    """Remembers allowed_updates when given (an empty list: the default kinds)."""
    allowed = params.structured("allowed_updates")
    if isinstance(allowed, list):
        kinds = frozenset(str(kind) for kind in allowed) & UPDATE_KINDS
        state.allowed_updates = kinds or None


@async_method("getUpdates")
async def get_updates(api: Api, state: BotState, params: Params) -> object:
    if state.webhook is not None:
        raise ApiError(409, CONFLICT_WEBHOOK)
    limit = min(max(params.integer("limit") or 100, 1), 100)
    timeout = _timeout(params)
    _allowed_updates(state, params)
    _confirm(state, params.integer("offset") or 0)

    state.poll_generation += 1
    generation = state.poll_generation
    state.wakeup.set()  # an earlier getUpdates still waiting ends with 409
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if state.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        if generation != state.poll_generation:
            raise ApiError(409, CONFLICT_POLL)
        if state.updates:
            return list(state.updates)[:limit]
        remaining = deadline - loop.time()
        if remaining <= 0 or api.closing:
            return []
        state.wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.wakeup.wait(), remaining)


@async_method("setWebhook")
async def set_webhook(api: Api, state: BotState, params: Params) -> object:
    """Sets (or, with an empty url, removes) the webhook updates are pushed to from now on."""
    url = params.text("url") or ""
    if not url:
        return await delete_webhook(api, state, params)
    check_url(url)
    secret = params.text("secret_token") or None
    if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    connections = params.integer("max_connections") or 40
    if not 1 <= connections <= 100:
        raise bad_request("invalid max_connections specified")
    _allowed_updates(state, params)
    await api.webhooks.stop(state)
    if params.flag("drop_pending_updates"):
        state.updates.clear()
    state.webhook = Webhook(url, secret, connections)
    state.wakeup.set()  # a getUpdates still waiting ends with 409
    api.webhooks.follow(state)
    api.record("setWebhook", state, None)
    return True


@async_method("deleteWebhook")
async def delete_webhook(api: Api, state: BotState, params: Params) -> object:
    """Stops pushing; queued updates wait for getUpdates (unless drop_pending_updates)."""
    await api.webhooks.stop(state)
    state.webhook = None
    if params.flag("drop_pending_updates"):
        state.updates.clear()
    api.record("deleteWebhook", state, None)
    return True


@method("getWebhookInfo")
def get_webhook_info(api: Api, state: BotState, params: Params) -> object:
    info: JSON = {"url": "", "has_custom_certificate": False}
    info["pending_update_count"] = len(state.updates)
    hook = state.webhook
    if hook is None:
        return info
    info.update(url=hook.url, max_connections=hook.max_connections)
    if hook.last_error_date is not None:
        info["last_error_date"] = hook.last_error_date
        info["last_error_message"] = hook.last_error_message
    if state.allowed_updates is not None:
        info["allowed_updates"] = sorted(state.allowed_updates)
    return info


def _language_code(params: Params) -> str:
    code = params.raw("language_code")
    code = "" if code is None else str(code)
    if code and not (len(code) == 2 and code.isalpha() and code.islower()):
        raise bad_request("invalid language code specified")
    return code


@method("setMyCommands")
def set_my_commands(api: Api, state: BotState, params: Params) -> object:
    """Commands per language_code, as the Bot API keeps them: a member whose app language has
    its own list sees that one, anyone else the default one (no language_code)."""
    commands = params.structured("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        name = command.get("command") if isinstance(command, dict) else None
        description = command.get("description") if isinstance(command, dict) else None
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    state.commands[_language_code(params)] = [c for c in commands if isinstance(c, dict)]
    api.record("setMyCommands", state, None)
    return True


@method("getMyCommands")
def get_my_commands(api: Api, state: BotState, params: Params) -> object:
    return list(state.commands.get(_language_code(params), []))


@method("deleteMyCommands")
def delete_my_commands(api: Api, state: BotState, params: Params) -> object:
    state.commands.pop(_language_code(params), None)
    api.record("deleteMyCommands", state, None)
    return True


for _name in ("logOut", "close", "setMyName", "setMyDescription"):
    constant(_name, True)
