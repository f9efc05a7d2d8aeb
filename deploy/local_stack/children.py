"""Children that never outlive the launcher.

Each child starts in its own process group, so a Ctrl-C typed at the terminal reaches only
the launcher, which then stops the children in order and quietly (no second
``KeyboardInterrupt`` traceback from a half-done migrate). Each child also asks the kernel
for ``SIGKILL`` when the launcher dies (``prctl(PR_SET_PDEATHSIG)``, set between fork and
exec), so even ``kill -9`` of the launcher leaves nothing running; a child whose parent
died before that request took effect exits at once.

The children's output is one pipe each (stdout and stderr merged), read by ``output``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Child", "spawn", "stop"]

_PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None


def _die_with(parent: int) -> Callable[[], None]:
    # Resolved before fork: the child runs only this between fork and exec (no imports).
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def setup() -> None:
        os.setpgid(0, 0)
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the launcher died before the request took effect
            os._exit(1)

    return setup


def spawn(name: str, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> Child:
    """Start ``argv`` as a child named ``name``; its output is ``child.proc.stdout``."""
    proc = subprocess.Popen(
        list(argv),
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with(os.getpid()),
    )
    return Child(name, proc)


def _signal_group(child: Child, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, sig)


def stop(
    children: Sequence[Child], *, wait: Callable[[float], None], grace: float = 10
) -> list[str]:
    """SIGTERM every child's group (last started first), SIGKILL what is left after ``grace``.

    ``wait(seconds)`` is called while waiting (the launcher keeps reading output then).
    Returns the names of children that had to be killed.
    """
    for child in reversed(children):
        if child.alive():
            _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(c.alive() for c in children) and time.monotonic() < deadline:
        wait(0.1)
    killed = []
    for child in children:
        if child.alive():
            killed.append(child.name)
        _signal_group(child, signal.SIGKILL)  # also whatever the child itself started
        child.proc.wait()
    return killed
