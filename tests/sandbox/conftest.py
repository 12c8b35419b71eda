"""The run's one Synapse, for the Synapse launcher's tests."""

from tests.synapse_fixture import synapse

__all__ = ["synapse"]
