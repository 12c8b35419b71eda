"""The run's one Synapse (shared with tests/bots), for the Matrix part of the suite."""

from tests.synapse_fixture import synapse

__all__ = ["synapse"]
