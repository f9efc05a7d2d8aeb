"""Which headers cross the gateway, in each direction.

Hop-by-hop headers (RFC 9110 §7.6.1, and any header a ``Connection`` field names) describe
one connection and are dropped both ways. Towards the origin the gateway also drops what
only it may set — the front-door token never leaves the gateway, and ``x-gateway-token``,
``x-client-ip``, ``x-request-id`` and ``traceparent`` are replaced by its own values (the
trace continues with the gateway's span as the origin's parent). Headers are ASGI pairs
of lower-case bytes.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["HOP_BY_HOP", "Headers", "request_headers", "response_headers"]

Headers = list[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"proxy-connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)

_REQUEST_DROP = HOP_BY_HOP | {
    b"host",  # the client's authority, not the origin's; the client sets the right one
    b"content-length",  # recomputed from the forwarded body (same bytes, same length)
    b"expect",  # the gateway already read the body; the origin must not wait for 100
    b"x-front-door-token",
    b"x-gateway-token",
    b"x-client-ip",
    b"x-request-id",
    b"traceparent",
}

# The gateway's own server adds these; passing the origin's on would duplicate them.
_RESPONSE_DROP = HOP_BY_HOP | {b"date", b"server"}


def connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> set[bytes]:
    """Header names listed in ``Connection`` fields (hop-by-hop for this message)."""
    names: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            names.update(token.strip().lower() for token in value.split(b",") if token.strip())
    return names


def _filtered(headers: Iterable[tuple[bytes, bytes]], drop: frozenset[bytes]) -> Headers:
    headers = list(headers)
    named = connection_tokens(headers)
    # ASGI wants lower-case names; the origin may send any spelling.
    return [(low, v) for n, v in headers if (low := n.lower()) not in drop and low not in named]


def request_headers(
    headers: Iterable[tuple[bytes, bytes]],
    *,
    origin_token: bytes,
    client_ip: bytes,
    request_id: bytes,
    traceparent: bytes | None = None,
) -> Headers:
    """The headers sent to the origin for a client request with ``headers``."""
    forwarded = _filtered(headers, _REQUEST_DROP)
    forwarded.append((b"x-gateway-token", origin_token))
    forwarded.append((b"x-client-ip", client_ip))
    forwarded.append((b"x-request-id", request_id))
    if traceparent is not None:
        forwarded.append((b"traceparent", traceparent))
    return forwarded


def response_headers(headers: Iterable[tuple[bytes, bytes]]) -> Headers:
    """The origin's response headers as the gateway passes them to the client."""
    return _filtered(headers, _RESPONSE_DROP)
