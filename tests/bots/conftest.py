"""The run's one Synapse, for the Matrix adapter's tests."""

from tests.synapse_fixture import synapse

__all__ = ["synapse"]
