"""Why a request to the origin got no (complete) response, and what the client is told.

Every failure of the upstream transport is one :class:`UpstreamError` subclass; the
transport raises nothing else. :data:`ERROR_TABLE` is the one place that maps them to the
contract's answers (docs/gateway.md, "Errors the gateway answers") and to the ``outcome``
label of ``gateway_upstream_duration_seconds``:

========================  ========  ======================  ===========  ==================
error                     status    code                    outcome      raised when
========================  ========  ======================  ===========  ==================
ConnectFailed             502       ORIGIN_UNAVAILABLE      unavailable  connect refused / reset
ConnectTimedOut           504       ORIGIN_TIMEOUT          timeout      connect took too long
PoolTimedOut              504       ORIGIN_TIMEOUT          timeout      no free connection in time
ClosedBeforeResponse      502       ORIGIN_UNAVAILABLE      unavailable  closed before the head
InvalidResponse           502       ORIGIN_UNAVAILABLE      unavailable  not HTTP/1.1 we can parse
ResponseTimedOut          504       ORIGIN_TIMEOUT          timeout      no head within the timeout
BodyInterrupted           (none)    (none)                  (none)       closed / silent mid-body
========================  ========  ======================  ===========  ==================

``BodyInterrupted`` happens after the status line went to the client: no error response is
possible, the client's connection is aborted so it sees a truncated response, never a
complete-looking one.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ERROR_TABLE",
    "BodyInterrupted",
    "ClosedBeforeResponse",
    "ConnectFailed",
    "ConnectTimedOut",
    "ErrorAnswer",
    "InvalidResponse",
    "PoolTimedOut",
    "ResponseTimedOut",
    "UpstreamError",
]


class UpstreamError(Exception):
    """Base of every error the upstream transport raises."""


class ConnectFailed(UpstreamError):
    """The origin refused or reset the connection attempt."""


class ConnectTimedOut(UpstreamError):
    """Connecting took longer than the upstream timeout."""


class PoolTimedOut(UpstreamError):
    """Every connection stayed busy for the whole upstream timeout."""


class ClosedBeforeResponse(UpstreamError):
    """The connection closed before a response head arrived."""


class InvalidResponse(UpstreamError):
    """The origin sent bytes that are not a valid HTTP/1.1 response."""


class ResponseTimedOut(UpstreamError):
    """No response head within the upstream timeout."""


class BodyInterrupted(UpstreamError):
    """The response body stopped early (connection closed, or silent past the timeout)."""


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    """What the client is told for an error raised before the response started."""

    status: int
    code: str
    message: str
    outcome: str  # label of gateway_upstream_duration_seconds


_UNREACHABLE = "The checkout service is unreachable right now; retry shortly."
_SLOW = "The checkout service did not answer in time; retry shortly."

ERROR_TABLE: dict[type[UpstreamError], ErrorAnswer] = {
    ConnectFailed: ErrorAnswer(502, "ORIGIN_UNAVAILABLE", _UNREACHABLE, "unavailable"),
    ConnectTimedOut: ErrorAnswer(504, "ORIGIN_TIMEOUT", _SLOW, "timeout"),
    PoolTimedOut: ErrorAnswer(504, "ORIGIN_TIMEOUT", _SLOW, "timeout"),
    ClosedBeforeResponse: ErrorAnswer(502, "ORIGIN_UNAVAILABLE", _UNREACHABLE, "unavailable"),
    InvalidResponse: ErrorAnswer(502, "ORIGIN_UNAVAILABLE", _UNREACHABLE, "unavailable"),
    ResponseTimedOut: ErrorAnswer(504, "ORIGIN_TIMEOUT", _SLOW, "timeout"),
}
