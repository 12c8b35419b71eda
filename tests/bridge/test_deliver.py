"""How long the deliverer waits before trying a delivery again."""

from __future__ import annotations

from bridge.model.ports import RetryLater
from bridge.relay.deliverer import MAX_BACKOFF_S, MAX_WAIT_S, retry_wait


def test_a_platform_wait_is_honoured_exactly_however_often() -> None:
    told = RetryLater(7, "429")
    assert [retry_wait(told, n) for n in (0, 1, 5)] == [7, 7, 7]
    assert retry_wait(RetryLater(10_000, "429"), 0) == MAX_WAIT_S


def test_network_failures_in_a_row_back_off_doubling_up_to_a_cap() -> None:
    down = RetryLater(1.0, "502", backoff=True)
    assert [retry_wait(down, n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert retry_wait(down, 30) == MAX_BACKOFF_S
