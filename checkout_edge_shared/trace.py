"""W3C trace context (``traceparent``) for one request, kept in a context variable.

Each service takes the trace id from a valid incoming ``traceparent`` (version ``00``, non-zero
trace and parent ids) or starts a new trace when it is absent or malformed, and gives the
request a span id of its own. Log lines carry the trace id; the gateway sends the origin a
``traceparent`` whose parent is the gateway's span, so the gateway's and the origin's lines of
one request share a trace id with whatever traced the request before them. A malformed header
is never an error: a fresh trace starts, as the W3C recommendation says.
"""

from __future__ import annotations

import contextvars
import re
import secrets
from dataclasses import dataclass

__all__ = ["Trace", "current_trace", "reset_trace", "set_trace", "trace_from_header"]

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass(frozen=True, slots=True)
class Trace:
    """This service's span of a trace: the trace id and the span id it answers under."""

    trace_id: str
    span_id: str
    flags: str = "01"

    def header(self) -> str:
        """``traceparent`` naming this span as the parent of whatever it calls next."""
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"


def _new_span() -> str:
    return secrets.token_hex(8)


def trace_from_header(value: str | None) -> Trace:
    """Continue the trace of a valid ``traceparent`` in a new span, else start a trace."""
    if value is not None:
        match = _TRACEPARENT.match(value.strip())
        if match is not None:
            version, trace_id, parent, flags = match.groups()
            if version != "ff" and trace_id != _ZERO_TRACE and parent != _ZERO_SPAN:
                return Trace(trace_id=trace_id, span_id=_new_span(), flags=flags)
    return Trace(trace_id=secrets.token_hex(16), span_id=_new_span())


_trace: contextvars.ContextVar[Trace | None] = contextvars.ContextVar("trace", default=None)


def current_trace() -> Trace | None:
    return _trace.get()


def set_trace(trace: Trace | None) -> contextvars.Token[Trace | None]:
    return _trace.set(trace)


def reset_trace(token: contextvars.Token[Trace | None]) -> None:
    _trace.reset(token)
