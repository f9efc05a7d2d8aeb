"""The long-running processes of ``make run`` as a table, and how each counts as started.

A :class:`Service` is a name, a command, the ports it binds and the path that answers 200
once it serves. The launcher starts the table's rows in order; a row is up only when

- its child is still running,
- the child itself holds the listening socket of each of its ports (``ports.bound_by``), and
- the health path answers 200,

so an answer from another stack that grabbed the port in between is never mistaken for
ours. A child that exits, or a deadline that passes, raises :class:`StartFailed` naming the
service and, for a port somebody else took, who holds it.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from . import ports
from .children import Child

__all__ = ["Service", "StartFailed", "busy_ports", "wait_until_up"]


@dataclass(frozen=True)
class Service:
    name: str
    argv: tuple[str, ...]
    ports: tuple[int, ...]
    health_path: str
    # The variable that moves the first port, for the busy-port line (``GATEWAY_PORT``).
    port_variable: str | None = None
    # The banner lines this service adds (label, value), in table order.
    banner: tuple[tuple[str, str], ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports[0]}"


class StartFailed(Exception):
    """A service did not come up; ``str()`` is one line."""


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (127.0.0.1)
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def wait_until_up(
    service: Service,
    child: Child,
    *,
    idle: Callable[[float], None],
    timeout: float = 60,
) -> None:
    """Return once ``child`` serves ``service``; ``idle(seconds)`` runs between checks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            reason = f"{service.name} exited with status {child.proc.returncode} while starting"
            taken = [
                f"port {port} is held by {holder.describe()}"
                for port in service.ports
                if (holder := ports.holder(port)) is not None
            ]
            raise StartFailed("; ".join([reason, *taken]))
        if all(ports.bound_by(port, child.pid) for port in service.ports) and _answers(
            service.url + service.health_path
        ):
            return
        idle(0.2)
    raise StartFailed(
        f"{service.name} did not answer {service.url}{service.health_path} within {timeout:.0f} s"
    )


def busy_ports(services: list[Service]) -> list[str]:
    """One line per port of ``services`` that something already listens on, naming it."""
    lines = []
    for service in services:
        for number in service.ports:
            holder = ports.holder(number)
            if holder is not None:
                move = f" or set {service.port_variable}" if service.port_variable else ""
                lines.append(
                    f"port {number} ({service.name}) is in use by {holder.describe()}; "
                    f"stop it{move}"
                )
    return lines
