"""In-process moving windows: the store without Redis, and the fallback when Redis fails.

The same semantics as the Redis script (:mod:`gateway.rate_limit.windows`): a request is
admitted only if every one of its windows has room, then counted in each. Exact within one
process; the event loop runs a check without yielding, so checks never interleave.
Windows whose newest admission is older than their length are dropped by a sweep every
:data:`SWEEP_EVERY` checks, which bounds memory by the clients of the last window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence

from gateway.rate_limit.quota import Quota
from gateway.rate_limit.windows import WindowState

__all__ = ["SWEEP_EVERY", "MemoryWindows"]

SWEEP_EVERY = 10_000


class MemoryWindows:
    """Moving windows keyed like the Redis ones, held in this process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, int, int], deque[float]] = {}
        self._checks = 0

    def hit(self, windows: Sequence[tuple[Quota, str]]) -> WindowState:
        now = self._clock()
        self._checks += 1
        if self._checks % SWEEP_EVERY == 0:
            self._sweep(now)
        entries = []
        full: list[int] = []
        wait = 0.0
        for index, (quota, identifier) in enumerate(windows):
            key = (identifier, quota.amount, quota.window)
            entry = self._windows.get(key)
            if entry is None:
                entry = self._windows[key] = deque(maxlen=quota.amount)
            start = now - quota.window
            while entry and entry[0] < start:  # oldest first here; limits keeps the boundary
                entry.popleft()
            if len(entry) >= quota.amount:
                full.append(index)
                wait = max(wait, entry[0] + quota.window - now)
            entries.append(entry)
        allowed = not full
        if allowed:
            for entry in entries:
                entry.append(now)
        reported = entries[-1]
        window = windows[-1][0].window
        reset_after = (reported[0] + window - now) if reported else float(window)
        return WindowState(allowed, len(reported), reset_after, tuple(full), wait)

    def _sweep(self, now: float) -> None:
        stale = [
            key for key, entry in self._windows.items() if not entry or entry[-1] < now - key[2]
        ]
        for key in stale:
            del self._windows[key]
