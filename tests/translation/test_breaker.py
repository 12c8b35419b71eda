"""The circuit breaker each provider sits behind: it opens after the configured failures in a
row (a timeout at once), refuses calls while open, lets one trial through after its cool-down,
and closes on a success. Time is a clock the test moves."""

from __future__ import annotations

import pytest

from translation.breaker import Breaker


class Clock:
    """Seconds, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_new_breaker_lets_every_call_through(clock: Clock) -> None:
    breaker = Breaker(clock=clock)
    assert breaker.state == "closed"
    assert all(breaker.allow() for _ in range(10))


@pytest.mark.parametrize("threshold", [1, 2, 3, 5])
def test_it_opens_after_the_configured_failures_in_a_row(clock: Clock, threshold: int) -> None:
    breaker = Breaker(threshold=threshold, clock=clock)
    for _ in range(threshold - 1):
        breaker.failure()
        assert breaker.state == "closed"
        assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open"
    assert not breaker.allow()


def test_a_success_between_failures_starts_the_count_again(clock: Clock) -> None:
    breaker = Breaker(threshold=3, clock=clock)
    breaker.failure()
    breaker.failure()
    breaker.success()
    breaker.failure()
    breaker.failure()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_a_timeout_opens_it_at_once(clock: Clock) -> None:
    breaker = Breaker(threshold=3, clock=clock)
    breaker.failure(timeout=True)
    assert breaker.state == "open"
    assert not breaker.allow()


def test_while_open_it_refuses_every_call_until_the_cool_down_has_passed(clock: Clock) -> None:
    breaker = Breaker(cooldown_s=30.0, threshold=1, clock=clock)
    breaker.failure()
    for elapsed in (0.0, 1.0, 29.9):
        clock.now = 1000.0 + elapsed
        assert breaker.state == "open"
        assert not breaker.allow(), elapsed


def test_after_the_cool_down_exactly_one_trial_call_goes_through(clock: Clock) -> None:
    breaker = Breaker(cooldown_s=30.0, threshold=1, clock=clock)
    breaker.failure()
    clock.now += 30.0
    assert breaker.state == "half-open"
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # the others wait for its outcome
    clock.now += 600.0
    assert not breaker.allow()  # however long it takes


def test_a_successful_trial_closes_it(clock: Clock) -> None:
    breaker = Breaker(cooldown_s=30.0, threshold=2, clock=clock)
    breaker.failure()
    breaker.failure()
    clock.now += 30.0
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed"
    assert all(breaker.allow() for _ in range(5))
    breaker.failure()  # the count started again: one failure does not reopen it
    assert breaker.state == "closed"


def test_a_failed_trial_reopens_it_for_a_whole_cool_down(clock: Clock) -> None:
    breaker = Breaker(cooldown_s=30.0, threshold=3, clock=clock)
    breaker.failure(timeout=True)
    clock.now += 45.0
    assert breaker.allow()
    breaker.failure()  # one failure is enough: the provider is still down
    assert breaker.state == "open"
    clock.now += 29.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.state == "half-open"
    assert breaker.allow()


def test_the_cool_down_is_the_configured_one(clock: Clock) -> None:
    breaker = Breaker(cooldown_s=2.0, threshold=1, clock=clock)
    breaker.failure()
    clock.now += 1.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.allow()
