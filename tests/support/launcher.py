"""``make run``'s launcher (``deploy/run_local.py``) as a real process for tests.

Each :class:`Launch` gets its own ``RUN_VAR_DIR`` (lock, secrets, SQLite file) and free ports
unless told otherwise, runs in its own session (so a test can send SIGINT to its process
group, as a terminal does), and has its merged output read by a thread into a list.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import ROOT, free_port

PREFIX = re.compile(r"^(?P<name>[a-z][a-z ]*?) +│ (?P<text>.*)$")
BANNER = "checkout-edge is running"


def launcher_env(var: Path, **extra: str) -> dict[str, str]:
    """The test's environment minus the services' variables, plus a var dir and free ports."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("GATEWAY_", "ORIGIN_", "STRIPE_", "DATABASE_URL", "CENTRAL_", "LOG_", "FRONT_DOOR_")
        )
    }
    env.update(
        RUN_VAR_DIR=str(var),
        GATEWAY_PORT=str(free_port()),
        ORIGIN_PORT=str(free_port()),
        STRIPE_SIM_PORT=str(free_port()),
        FRONT_DOOR_SHOPS=f"cochlearfit={free_port()},wardrobe-rent={free_port()}",
    )
    env.update(extra)
    return env


@dataclass
class Launch:
    env: dict[str, str]
    proc: subprocess.Popen[str] = field(init=False)
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "deploy/run_local.py"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def texts(self, name: str = "run") -> list[str]:
        """The lines process ``name`` wrote, without the prefix."""
        found = (PREFIX.match(line) for line in self.lines)
        return [m["text"] for m in found if m is not None and m["name"] == name]

    def wait_for(self, text: str, timeout: float = 90) -> None:
        """Until some line contains ``text``; fails with the output if the launcher ends."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in list(self.lines)):
                return
            if self.proc.poll() is not None:
                self._reader.join(5)
                if any(text in line for line in self.lines):
                    return
                raise AssertionError(f"launcher ended ({self.proc.returncode}):\n{self.output}")
            time.sleep(0.05)
        raise AssertionError(f"no line with {text!r} within {timeout}s:\n{self.output}")

    def wait(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def interrupt(self) -> None:
        """SIGINT to the launcher's process group, as Ctrl-C at a terminal sends it."""
        os.killpg(self.proc.pid, signal.SIGINT)

    def children(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        return [int(p) for p in out.split()]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.env[f'{name.upper()}_PORT']}"

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.wait(10)


def gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for its new parent counts as ended)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def all_gone(pids: list[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if all(gone(pid) for pid in pids):
            return True
        time.sleep(0.02)
    return all(gone(pid) for pid in pids)
