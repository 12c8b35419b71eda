"""Bot API methods that share a place: sendLocation and sendVenue.

A point is a latitude in [-90, 90] and a longitude in [-180, 180], as Telegram checks them; a
venue adds a title and an address (both required) and shows as ``venue`` with its
``location`` beside it, as Telegram's Message does. Live locations (``live_period``) are kept
as given; nothing here moves them.
"""

from __future__ import annotations

import math

from sandbox.telegram.api import Api, method
from sandbox.telegram.entities import JSON
from sandbox.telegram.model import BotState
from sandbox.telegram.params import Params
from sandbox.telegram.sending import post
from sandbox.telegram.world import bad_request


def point(latitude: object, longitude: object, live_period: int | None = None) -> JSON:
    """The Location object, or Telegram's 400 for coordinates out of range."""
    lat, lon = _number(latitude, "latitude"), _number(longitude, "longitude")
    if not -90 <= lat <= 90 or not -180 <= lon <= 180:
        raise bad_request("wrong coordinates")  # Telegram: BUTTON_DATA or POINT_INVALID
    found: JSON = {"latitude": lat, "longitude": lon}
    if live_period:
        found["live_period"] = live_period
    return found


def venue(location: JSON, title: str, address: str) -> JSON:
    """The Venue object (and the Message shows its location beside it)."""
    if not title or not address:
        raise bad_request("title and address are required")
    return {"location": location, "title": title, "address": address}


def _number(value: object, name: str) -> float:
    try:
        number = float(str(value))
    except ValueError:
        raise bad_request(f"invalid {name} specified") from None
    if not math.isfinite(number):
        raise bad_request(f"invalid {name} specified")
    return number


def _place(api: Api, state: BotState, params: Params, name: str, content: JSON) -> JSON:
    chat = api.world.chat_for_bot(state.account, params.chat_ref())
    return post(api, state, chat, params, name, text=None, entities=[], media=content)


@method("sendLocation")
def send_location(api: Api, state: BotState, params: Params) -> object:
    live = params.integer("live_period")
    where = point(params.raw("latitude"), params.raw("longitude"), live)
    return _place(api, state, params, "sendLocation", {"location": where})


@method("sendVenue")
def send_venue(api: Api, state: BotState, params: Params) -> object:
    where = point(params.raw("latitude"), params.raw("longitude"))
    place = venue(where, params.text("title") or "", params.text("address") or "")
    return _place(api, state, params, "sendVenue", {"venue": place, "location": where})
