"""The circuit breaker's state machine, on a fake clock."""

from __future__ import annotations

from gateway.rate_limit import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(threshold=3, cooldown=2.0, clock=clock)


def test_opens_after_threshold_consecutive_failures() -> None:
    clock = Clock()
    b = breaker(clock)
    assert b.record_failure() is False
    assert b.record_failure() is False
    assert b.allow()
    assert b.record_failure() is True
    assert b.state is BreakerState.OPEN
    assert not b.allow()


def test_a_success_resets_the_failure_count() -> None:
    b = breaker(Clock())
    b.record_failure()
    b.record_failure()
    b.record_success()
    b.record_failure()
    b.record_failure()
    assert b.state is BreakerState.CLOSED


def test_after_cooldown_exactly_one_probe_goes_through() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.now += 1.9
    assert not b.allow()
    assert b.seconds_until_probe() > 0
    clock.now += 0.2
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow()
    assert not b.allow()  # the probe is in flight


def test_successful_probe_closes_failed_probe_reopens() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.now += 2.5
    assert b.allow()
    assert b.record_failure() is True
    assert b.state is BreakerState.OPEN
    clock.now += 2.5
    assert b.allow()
    b.record_success()
    assert b.state is BreakerState.CLOSED
    assert b.allow()


def test_a_probe_that_never_reports_back_is_replaced_after_a_cooldown() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.now += 2.5
    assert b.allow()
    clock.now += 2.5
    assert b.allow()
