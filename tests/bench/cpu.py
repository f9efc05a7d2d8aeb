"""CPU time of a benchmarked process tree, read from the kernel's own accounting.

``/proc/<pid>/stat`` fields 14 and 15 (``utime``, ``stime``, in clock ticks) are what the
kernel charged the process; a uvicorn started with ``--workers N`` runs its workers as
children, so the meter sums the process and every descendant alive at the reading. Figures
are per successful checkout: CPU seconds spent by the tree during the measured window,
divided by the checkouts that answered 200/201 in it. Linux only (``/proc``).
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    return raw[raw.rindex(")") + 2 :].split()


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's children file)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


def tree_cpu_seconds(pid: int) -> float:
    """user + system CPU of ``pid`` and its live descendants, in seconds."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        fields = _stat_fields(current)
        if fields is None:
            continue
        # After the name: state is index 0, so utime (field 14) is index 11, stime index 12.
        total += int(fields[11]) + int(fields[12])
        pending += _children(current)
    return total / _TICKS_PER_SECOND


@dataclass
class CpuMeter:
    """CPU seconds a process tree spent between :meth:`start` and :meth:`stop`."""

    pid: int
    _started: float = 0.0
    seconds: float = 0.0

    def start(self) -> None:
        self._started = tree_cpu_seconds(self.pid)

    def stop(self) -> float:
        self.seconds = tree_cpu_seconds(self.pid) - self._started
        return self.seconds


def per_checkout_ms(cpu_seconds: float, checkouts: int) -> float:
    return round(cpu_seconds * 1000 / checkouts, 2) if checkouts else float("nan")


def own_and_reaped_cpu_seconds() -> float:
    """user + system CPU of this process and of its children that have exited and been waited
    for (a load generator run to completion) — not of children still running (the services)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime


@dataclass
class DriverMeter:
    """CPU seconds this process and the load generators it ran spent between start and stop."""

    _started: float = 0.0
    seconds: float = 0.0

    def start(self) -> None:
        self._started = own_and_reaped_cpu_seconds()

    def stop(self) -> float:
        self.seconds = own_and_reaped_cpu_seconds() - self._started
        return self.seconds
