"""One ``make run`` per ``var/`` directory: an exclusive ``flock`` on ``var/run.lock``.

The lock is taken before anything else (ports, migrate, seed), so a second launcher started
at the same moment stops at once instead of racing the first to its ports. The kernel drops
the lock when the holder's process ends in any way (``kill -9`` included), so a stale lock
file never blocks a later run. The file records who holds it, for the second launcher's
one-line refusal.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AlreadyRunning", "InstanceLock"]


class AlreadyRunning(Exception):
    """Another launcher holds the lock; ``str()`` names it in one line."""


@dataclass
class InstanceLock:
    path: Path
    _fd: int | None = None

    def acquire(self, *, ports: dict[str, int]) -> None:
        """Take the lock or raise :class:`AlreadyRunning`; records pid, start time and ports."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _wait_for_holder(fd)
            os.close(fd)
            raise AlreadyRunning(holder) from None
        os.ftruncate(fd, 0)
        record = {"pid": os.getpid(), "started": time.time(), "ports": ports}
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None


def _wait_for_holder(fd: int, patience: float = 2.0) -> str:
    """The holder's line, once it has written its record (it takes the lock first, then writes;
    on a busy machine it may be descheduled in between), else the "starting" line."""
    deadline = time.monotonic() + patience
    while True:
        line = _read_holder(fd)
        if "(pid " in line or time.monotonic() >= deadline:
            return line
        time.sleep(0.02)


def _read_holder(fd: int) -> str:
    try:
        record = json.loads(os.pread(fd, 4096, 0) or b"{}")
        pid = int(record["pid"])
        started = time.strftime("%H:%M:%S", time.localtime(float(record["started"])))
        ports = ", ".join(f"{name} :{port}" for name, port in record.get("ports", {}).items())
    except (ValueError, KeyError, TypeError):
        # The holder is between taking the lock and writing the record.
        return "another `make run` is starting in this directory; wait for it or stop it first"
    return (
        f"another `make run` is already running here (pid {pid}, started {started}; {ports}); "
        f"use that one, or stop it with Ctrl-C in its terminal or `kill {pid}`"
    )
