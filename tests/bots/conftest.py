"""The run's one Synapse, for the Matrix adapter's tests, and the Telegram test world (the
sandbox Bot API server with the network's groups, see telegram_world.py) as ``tg``, and the
whole end-to-end world (e2e_world.py) as ``e2e``."""

from tests.bots.e2e_world import e2e
from tests.bots.telegram_world import tg
from tests.synapse_fixture import synapse

__all__ = ["e2e", "synapse", "tg"]
