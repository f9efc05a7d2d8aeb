"""Supervision of ``make run``'s children: phases, one-shot steps, signals, quiet stopping.

Signals only set a flag (:meth:`Supervisor.on_signal`); the flag is acted on in
:meth:`Supervisor.idle`, the one place the launcher waits, so a Ctrl-C never lands between
starting a child and recording it — every child started is a child stopped. Stopping holds
the children's lines back and shows them only for a child that did not end cleanly, so an
ordinary Ctrl-C ends with the launcher's one line.
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

from . import children
from .children import Child
from .output import Output
from .services import StartFailed

__all__ = ["Interrupted", "Supervisor"]


class Interrupted(Exception):
    """Ctrl-C, SIGTERM or SIGHUP arrived; the launcher stops everything."""


class Supervisor:
    """The launcher's children, its current phase and the signal that stops it."""

    def __init__(self, output: Output, *, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.output = output
        self.children: list[Child] = []
        self.phase = "start-up"
        self.signal: int | None = None

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum  # acted on at the next idle(), never between fork and bookkeeping

    def idle(self, seconds: float) -> None:
        self.output.pump(seconds)
        if self.signal is not None:
            raise Interrupted

    def start(self, name: str, argv: tuple[str, ...]) -> Child:
        child = children.spawn(name, argv, env=self.env, cwd=self.cwd)
        self.children.append(child)
        self.output.follow(name, child.proc.stdout)
        return child

    def step(self, name: str, argv: tuple[str, ...]) -> None:
        """Run a one-shot child (migrate, seed) to its end; its failure stops the launch."""
        self.phase = name
        child = self.start(name, argv)
        while child.alive():
            self.idle(0.2)
        self.output.drain()
        self.output.forget(child.proc.stdout)
        self.children.remove(child)
        if child.proc.returncode != 0:
            raise StartFailed(
                f"{name} failed (status {child.proc.returncode}); nothing was started"
            )

    def stop(self) -> None:
        """Stop every child quietly; show the lines of any that did not end cleanly."""
        self.output.hold()
        running = [child for child in self.children if child.alive()]
        killed = children.stop(self.children, wait=self.output.pump)
        self.output.drain()
        for child in self.children:
            self.output.forget(child.proc.stdout)
        for child in running:
            clean = child.proc.returncode in (0, -signal.SIGTERM) and child.name not in killed
            if not clean:
                for line in self.output.held(child.name)[-20:]:
                    self.output.say(line, child.name)
                how = (
                    "was killed" if child.name in killed else f"ended with {child.proc.returncode}"
                )
                self.output.say(f"{child.name} did not stop cleanly ({how})")
        self.children = []
