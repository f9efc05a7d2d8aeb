"""One line per event, prefixed with the process that wrote it.

Every child's pipe is read here, split into lines and written as ``name │ line``, the names
padded to one width. On a terminal each process's prefix has its own colour; piped (or with
``NO_COLOR`` set) the output is plain text without escape codes, and escape codes a child
writes itself are removed either way. Reading is a ``select`` loop driven by the launcher
(no threads), so the launcher's own lines and the children's never interleave mid-line.
"""

from __future__ import annotations

import os
import re
import selectors
import sys
from collections.abc import Iterable
from typing import IO, TextIO

__all__ = ["LAUNCHER", "Output"]

LAUNCHER = "run"
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
# cyan, magenta, yellow, green, blue, red: the launcher itself is bold.
_COLOURS = ("36", "35", "33", "32", "34", "31")


class Output:
    def __init__(self, names: Iterable[str], stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        names = [LAUNCHER, *names]
        width = max(len(name) for name in names)
        colour = self.stream.isatty() and not os.environ.get("NO_COLOR")
        self._prefix: dict[str, str] = {}
        for index, name in enumerate(names):
            text = f"{name:<{width}} │ "
            if colour:
                code = "1" if name == LAUNCHER else _COLOURS[(index - 1) % len(_COLOURS)]
                text = f"\x1b[{code}m{name:<{width}}\x1b[0m │ "
            self._prefix[name] = text
        self._selector = selectors.DefaultSelector()
        self._partial: dict[int, bytes] = {}
        self._held: dict[str, list[str]] | None = None

    def say(self, line: str = "", name: str = LAUNCHER) -> None:
        """One line of the launcher's own (or on behalf of ``name``)."""
        self.stream.write(self._prefix.get(name, self._prefix[LAUNCHER]) + line + "\n")
        self.stream.flush()

    def follow(self, name: str, pipe: IO[bytes] | None) -> None:
        """Read ``pipe`` (a child's stdout) from now on, its lines prefixed with ``name``."""
        assert pipe is not None, "children are started with stdout=PIPE"
        fd = pipe.fileno()
        os.set_blocking(fd, False)
        self._partial[fd] = b""
        self._selector.register(fd, selectors.EVENT_READ, name)

    def forget(self, pipe: IO[bytes] | None) -> None:
        """Stop following ``pipe`` and close it (after :meth:`drain`, at a child's end)."""
        if pipe is None:
            return
        fd = pipe.fileno()
        if fd in self._partial:
            self._partial.pop(fd)
            self._selector.unregister(fd)
        pipe.close()

    def hold(self) -> None:
        """Keep children's lines back from now on (while stopping); see :meth:`held`."""
        self._held = {}

    def held(self, name: str) -> list[str]:
        return [] if self._held is None else self._held.get(name, [])

    def pump(self, timeout: float) -> None:
        """Write whatever the children wrote, waiting at most ``timeout`` seconds for it."""
        if not self._selector.get_map():
            if timeout > 0:
                self._selector.select(timeout)  # nothing to read; still a bounded pause
            return
        for key, _ in self._selector.select(timeout):
            self._read(key.fd, key.data)

    def drain(self) -> None:
        """Everything already written by the children, then stop following the closed pipes."""
        for key in list(self._selector.get_map().values()):
            self._read(key.fd, key.data)

    def _read(self, fd: int, name: str) -> None:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                rest = self._partial.pop(fd, b"")
                if rest:
                    self._line(name, rest)
                self._selector.unregister(fd)
                return
            lines = (self._partial[fd] + chunk).split(b"\n")
            self._partial[fd] = lines.pop()
            for line in lines:
                self._line(name, line)

    def _line(self, name: str, raw: bytes) -> None:
        text = _ANSI.sub(b"", raw).rstrip(b"\r").decode(errors="replace")
        if self._held is not None:
            self._held.setdefault(name, []).append(text)
            return
        self.stream.write(self._prefix[name] + text + "\n")
        self.stream.flush()
