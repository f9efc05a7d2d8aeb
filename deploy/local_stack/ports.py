"""Who listens on a TCP port, read from ``/proc`` (Linux).

``/proc/net/tcp`` and ``tcp6`` list every listening socket with its inode; the process
holding the socket is the one with a ``/proc/<pid>/fd/*`` link to ``socket:[inode]``.
That gives the launcher two answers: which process holds a busy port (pid and command, for
the one-line refusal) and whether a port is bound by one particular child (so the health
wait never accepts an answer from somebody else's server). Processes of other users may
be unreadable: the port is then reported busy with the holder unknown.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Holder", "bound_by", "holder", "in_use"]

_LISTEN = "0A"
_PROC = Path("/proc")


@dataclass(frozen=True)
class Holder:
    """A process listening on a port; ``pid`` is ``None`` when it cannot be seen."""

    pid: int | None
    command: str

    def describe(self) -> str:
        if self.pid is None:
            return "a process this user cannot see"
        return f"pid {self.pid} ({self.command})"


def _listening_inodes(port: int) -> set[int]:
    inodes: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (_PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(int(inode))
    return inodes


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        entries = os.listdir(_PROC / str(pid) / "fd")
    except OSError:
        return inodes
    for entry in entries:
        try:
            target = os.readlink(_PROC / str(pid) / "fd" / entry)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _command(pid: int) -> str:
    try:
        raw = (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return "?"
    words = [w.decode(errors="replace") for w in raw.split(b"\0") if w]
    command = " ".join(words) or "?"
    return command if len(command) <= 120 else command[:117] + "..."


def bound_by(port: int, pid: int) -> bool:
    """Whether ``pid`` itself holds a socket listening on ``port``."""
    listening = _listening_inodes(port)
    return bool(listening) and bool(listening & _socket_inodes(pid))


def in_use(port: int) -> bool:
    """Whether anything listens on ``port`` (or accepts a connection on 127.0.0.1:port)."""
    if _listening_inodes(port):
        return True
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def holder(port: int) -> Holder | None:
    """The process listening on ``port``; ``None`` when the port is free."""
    listening = _listening_inodes(port)
    if not listening:
        return Holder(None, "?") if in_use(port) else None
    for entry in os.listdir(_PROC):
        if entry.isdigit() and listening & _socket_inodes(int(entry)):
            return Holder(int(entry), _command(int(entry)))
    return Holder(None, "?")
