"""Injected failures of the next API requests, and how a connection is dropped.

A fault applies to ``count`` consecutive ``/v1`` requests. What it does, in this order:

1. ``delay``: wait that many seconds first (the request is still performed afterwards, as a
   slow Stripe would: a client that times out meanwhile faces an unknown outcome);
2. ``afterCreate``: perform the request (a session is created, a replay is saved), then
   lose the answer: the unknown-outcome case;
3. ``drop``: close the connection without any answer; else answer ``status`` (a Stripe-shaped
   error). A fault with only a ``delay`` answers normally, one with nothing else answers 500.

Faults queue up: each ``POST /_sim/faults`` appends one, used after those before it.
"""

from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.types import Receive

from .errors import invalid_request

FAULT_STATUSES = frozenset({400, 401, 403, 409, 429, 500, 502, 503, 504})


@dataclass
class Fault:
    """One injected failure and how many more requests it applies to."""

    remaining: int
    status: int | None = None
    delay: float = 0.0
    drop: bool = False
    after_create: bool = False

    @property
    def answer_status(self) -> int | None:
        """The error status answered, or ``None`` when the request is answered normally."""
        if self.drop:
            return None
        if self.status is not None:
            return self.status
        return None if self.delay and not self.after_create else 500

    def describe(self) -> dict[str, object]:
        """What this fault does, as the control API and the request log show it."""
        return {
            "status": self.status,
            "delay": self.delay,
            "drop": self.drop,
            "afterCreate": self.after_create,
        }

    def to_json(self) -> dict[str, object]:
        """The control API's view of this fault, with the requests it still applies to."""
        return {"count": self.remaining, **self.describe()}


def parse_fault(payload: Any) -> Fault:
    """Read ``{count, status?, delay?, drop?, afterCreate?}``; a 400 names what is wrong."""
    if not isinstance(payload, dict):
        raise invalid_request("The body must be a JSON object.")
    unknown = set(payload) - {"count", "status", "delay", "drop", "afterCreate"}
    if unknown:
        field = sorted(unknown)[0]
        raise invalid_request(f"Unknown fault field: {field}", param=field)
    count = payload.get("count", 1)
    if not _is_int(count) or count < 1:
        raise invalid_request("count must be an integer of at least 1.", param="count")
    status = payload.get("status")
    if status is not None and (not _is_int(status) or status not in FAULT_STATUSES):
        raise invalid_request(f"status must be one of {sorted(FAULT_STATUSES)}.", param="status")
    delay = payload.get("delay", 0)
    if isinstance(delay, bool) or not isinstance(delay, int | float) or not 0 <= delay <= 300:
        raise invalid_request("delay must be a number of seconds from 0 to 300.", param="delay")
    for flag in ("drop", "afterCreate"):
        if not isinstance(payload.get(flag, False), bool):
            raise invalid_request(f"{flag} must be true or false.", param=flag)
    if payload.get("drop") and status is not None:
        raise invalid_request("A fault either drops the connection or answers a status.")
    return Fault(
        remaining=count,
        status=status,
        delay=float(delay),
        drop=bool(payload.get("drop", False)),
        after_create=bool(payload.get("afterCreate", False)),
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FaultQueue:
    """Faults waiting for the next API requests, first in, first used."""

    def __init__(self) -> None:
        self._faults: deque[Fault] = deque()

    def add(self, fault: Fault) -> None:
        """Queue a fault behind those already waiting."""
        self._faults.append(fault)

    def take(self) -> Fault | None:
        """The fault for the request arriving now, if any; it counts as used once."""
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.remaining -= 1
        if fault.remaining == 0:
            self._faults.popleft()
        return fault

    def pending(self) -> list[Fault]:
        """The faults still waiting."""
        return list(self._faults)

    def clear(self) -> None:
        """Drop every waiting fault."""
        self._faults.clear()


class DropUnsupportedError(RuntimeError):
    """The server running the app does not let it close a connection unanswered."""


async def drop_connection(receive: Receive) -> None:
    """Close the client's connection without sending a single byte of response.

    ASGI has no message for this, and an app that raises or returns without answering makes
    uvicorn send a 500. But uvicorn hands the app its per-request cycle's bound ``receive``,
    and that cycle holds the asyncio transport (true of its httptools, h11 and zttp
    protocols): aborting it is what a vanished server looks like to the client.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        raise DropUnsupportedError(
            "drop needs the app to run under uvicorn, which exposes the connection's transport"
        )
    transport.abort()
    # Wait until uvicorn has seen the connection go, so it neither answers 500 nor complains
    # that the app returned without a response.
    while (await receive())["type"] != "http.disconnect":
        pass
