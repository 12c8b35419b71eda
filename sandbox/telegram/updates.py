"""Bot API methods about the bot itself and its updates: getMe, getUpdates (long polling),
setWebhook / deleteWebhook / getWebhookInfo, the bot's command list, and the accepted no-ops.

getUpdates follows Telegram: updates with an id below `offset` are confirmed and dropped; a
negative offset keeps only the last -offset updates; `timeout` long-polls and returns as soon
as an update is queued; `allowed_updates` is remembered for later calls and applies to updates
created after it; a second getUpdates ends the first with 409 Conflict.
"""

from __future__ import annotations

import asyncio
import contextlib

from sandbox.telegram.api import Api, async_method, constant, method
from sandbox.telegram.model import BotState
from sandbox.telegram.params import Params
from sandbox.telegram.world import UPDATE_KINDS, ApiError, bad_request

CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)


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


@async_method("getUpdates")
async def get_updates(api: Api, state: BotState, params: Params) -> object:
    if state.webhook_url:
        raise ApiError(409, CONFLICT_WEBHOOK)
    limit = min(max(params.integer("limit") or 100, 1), 100)
    timeout = _timeout(params)
    allowed = params.structured("allowed_updates")
    if isinstance(allowed, list):
        kinds = frozenset(str(kind) for kind in allowed) & UPDATE_KINDS
        state.allowed_updates = kinds or None
    _confirm(state, params.integer("offset") or 0)

    state.poll_generation += 1
    generation = state.poll_generation
    state.wakeup.set()  # an earlier getUpdates still waiting ends with 409
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
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


@method("setWebhook")
def set_webhook(api: Api, state: BotState, params: Params) -> object:
    """Remembered (getUpdates then answers 409) but never called: nothing leaves the sandbox."""
    url = params.text("url") or ""
    if url and not url.startswith("https://"):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    state.webhook_url = url
    if params.flag("drop_pending_updates"):
        state.updates.clear()
    api.record("setWebhook", state, None)
    return True


@method("deleteWebhook")
def delete_webhook(api: Api, state: BotState, params: Params) -> object:
    state.webhook_url = ""
    if params.flag("drop_pending_updates"):
        state.updates.clear()
    api.record("deleteWebhook", state, None)
    return True


@method("getWebhookInfo")
def get_webhook_info(api: Api, state: BotState, params: Params) -> object:
    return {
        "url": state.webhook_url,
        "has_custom_certificate": False,
        "pending_update_count": len(state.updates),
    }


@method("setMyCommands")
def set_my_commands(api: Api, state: BotState, params: Params) -> object:
    commands = params.structured("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    state.commands = [c for c in commands if isinstance(c, dict)]
    api.record("setMyCommands", state, None)
    return True


@method("getMyCommands")
def get_my_commands(api: Api, state: BotState, params: Params) -> object:
    return list(state.commands)


@method("deleteMyCommands")
def delete_my_commands(api: Api, state: BotState, params: Params) -> object:
    state.commands = []
    api.record("deleteMyCommands", state, None)
    return True


for _name in ("logOut", "close", "setMyName", "setMyDescription"):
    constant(_name, True)
