"""A circuit breaker that keeps a failing Redis off the request path.

After ``threshold`` consecutive failures the breaker opens: callers skip Redis for
``cooldown`` seconds. Then it lets a single probe through; its success closes the breaker,
its failure opens it for another cool-down. Pure logic with an injectable clock, so the
state machine is tested without Redis or sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures and decides whether the next call may go to Redis."""

    def __init__(
        self,
        *,
        threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_started_at: float | None = None

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self.cooldown:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def seconds_until_probe(self) -> float:
        """How long callers will keep skipping Redis (0 when it is being used or probed)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.cooldown - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """True when this call should try Redis (closed, or this call is the probe)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        now = self._clock()
        # One probe at a time; a probe that never reported back (its request was
        # cancelled) is given up after a cool-down so the breaker cannot stay stuck.
        if self._probe_started_at is None or now - self._probe_started_at >= self.cooldown:
            self._probe_started_at = now
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probe_started_at = None

    def record_failure(self) -> bool:
        """Count a failure; True when this failure opened (or re-opened) the breaker."""
        self._failures += 1
        if self._opened_at is not None:
            # A failed probe (or a call that was already in flight) restarts the cool-down.
            self._opened_at = self._clock()
            self._probe_started_at = None
            return True
        if self._failures >= self.threshold:
            self._opened_at = self._clock()
            self._probe_started_at = None
            return True
        return False
