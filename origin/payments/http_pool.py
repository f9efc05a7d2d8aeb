"""Keep-alive HTTP/1.1 connections for the Stripe client, one pool per (scheme, host, port).

- at most ``max_connections`` connections per endpoint; idle ones are reused newest first and
  retired after :data:`KEEPALIVE_EXPIRY_SECONDS`, below the server's own keep-alive; one the
  server closed while idle is seen closed and never written to;
- a request is never sent twice: once written, its fate is the caller's (stripe-python's
  retry loop) to decide;
- one deadline, ``timeout``, over the whole request: a free connection, connecting (TLS
  included) and the complete response; a connection that failed, timed out or was cancelled
  mid-request is closed, never pooled;
- HTTPS verifies certificates with the given context and sends SNI.

Failures are :class:`~origin.payments.http_connection.TransportError` only (``ValueError``
for a request that cannot be written: not http(s), a line break in a header).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Mapping
from urllib.parse import urlsplit

from origin.payments.http_connection import (
    ConnectFailed,
    Connection,
    ConnectTimedOut,
    PoolTimedOut,
    ResponseHeaders,
    ResponseTimedOut,
)

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "KEEPALIVE_EXPIRY_SECONDS",
    "MAX_RESPONSE_BYTES",
    "ConnectionPool",
]

# Below uvicorn's 5 s (the stand-in) and near httpx's 5 s default, which the origin used before.
KEEPALIVE_EXPIRY_SECONDS = 4.0
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_CONNECTIONS = 100  # httpx's default limit, which the origin ran with before


class _Endpoint:
    """The connections to one (scheme, host, port) and the slots they take."""

    __slots__ = ("authority", "busy", "host", "idle", "port", "tls", "waiters")

    def __init__(self, host: str, port: int, authority: str, tls: ssl.SSLContext | None):
        self.host = host
        self.port = port
        self.authority = authority
        self.tls = tls
        self.busy = 0
        self.idle: list[Connection] = []
        self.waiters: deque[asyncio.Future[None]] = deque()

    def take_idle(self) -> Connection | None:
        now = time.monotonic()
        while self.idle:
            connection = self.idle.pop()
            transport = connection.transport
            fresh = now - connection.idle_since < KEEPALIVE_EXPIRY_SECONDS
            if fresh and not connection.closed and transport and not transport.is_closing():
                return connection
            connection.close()
        return None

    def release_slot(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes to the waiter; busy stays the same
                return
        self.busy -= 1


class ConnectionPool:
    """:meth:`request` sends one request and reads its whole response."""

    def __init__(
        self,
        *,
        timeout: float,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        ssl_context: ssl.SSLContext,
        max_body: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.timeout = timeout
        self.max_connections = max_connections
        self.max_body = max_body
        self.ssl_context = ssl_context
        self._endpoints: dict[tuple[str, str, int], _Endpoint] = {}
        self._closed = False

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, ResponseHeaders, bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        endpoint, target = self._route(url)
        data = _encode(method, target, endpoint.authority, headers, body)
        if endpoint.busy < self.max_connections:  # the common case, without a coroutine call
            endpoint.busy += 1
        else:
            await _acquire(endpoint, loop, deadline)
        connection = endpoint.take_idle()
        try:
            if connection is None:
                connection = await self._connect(endpoint, loop, deadline)
            done = connection.exchange(data)
            timer = loop.call_at(deadline, _expire, done)  # cheaper than asyncio.timeout
            try:
                await done
            finally:
                timer.cancel()
        except BaseException:  # failed, timed out or cancelled: never pool this connection
            if connection is not None:
                connection.close()
            endpoint.release_slot()
            raise
        result = connection.status, ResponseHeaders(connection.raw_headers), connection.body()
        if connection.reusable() and not self._closed:
            connection.idle_since = time.monotonic()
            endpoint.idle.append(connection)
        else:
            connection.close()
        endpoint.release_slot()
        return result

    async def aclose(self) -> None:
        """Close the idle connections (waiting briefly for them to go); one still carrying
        a request is closed when that request ends."""
        self._closed = True
        closing = []
        for endpoint in self._endpoints.values():
            for connection in endpoint.idle:
                connection.close()
                closing.append(connection.lost)
            endpoint.idle.clear()
        if closing:
            await asyncio.wait(closing, timeout=1.0)

    def _route(self, url: str) -> tuple[_Endpoint, str]:
        parts = urlsplit(url)
        scheme = parts.scheme
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, parts.hostname, port)
        endpoint = self._endpoints.get(key)
        if endpoint is None:
            host = parts.hostname
            name = f"[{host}]" if ":" in host else host
            authority = name if parts.port is None else f"{name}:{port}"
            tls = self.ssl_context if scheme == "https" else None
            endpoint = self._endpoints[key] = _Endpoint(host, port, authority, tls)
        target = parts.path or "/"
        return endpoint, f"{target}?{parts.query}" if parts.query else target

    async def _connect(
        self, endpoint: _Endpoint, loop: asyncio.AbstractEventLoop, deadline: float
    ) -> Connection:
        max_body = self.max_body
        try:
            async with asyncio.timeout_at(deadline):
                _, connection = await loop.create_connection(
                    lambda: Connection(loop, max_body=max_body),
                    endpoint.host,
                    endpoint.port,
                    ssl=endpoint.tls,
                )
        except TimeoutError:
            raise ConnectTimedOut(f"connecting to {endpoint.authority} timed out") from None
        except OSError as exc:  # ssl.SSLError (a certificate refused) is an OSError too
            raise ConnectFailed(f"cannot connect to {endpoint.authority}: {exc}") from exc
        return connection


def _encode(
    method: str, target: str, authority: str, headers: Mapping[str, str], body: bytes
) -> bytes:
    fields = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    # One CR and one LF per field: a value or name carrying its own would inject a header.
    if fields.count("\n") != len(headers) or fields.count("\r") != len(headers):
        raise ValueError("a header name or value contains a line break")
    length = f"Content-Length: {len(body)}\r\n" if body or method == "POST" else ""
    head = f"{method} {target} HTTP/1.1\r\nHost: {authority}\r\n{fields}{length}\r\n"
    return head.encode("ascii") + body


async def _acquire(endpoint: _Endpoint, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
    waiter: asyncio.Future[None] = loop.create_future()
    endpoint.waiters.append(waiter)
    timer = loop.call_at(deadline, _expire, waiter)
    try:
        await waiter
    except ResponseTimedOut:
        raise PoolTimedOut(f"no free connection to {endpoint.authority} in time") from None
    except asyncio.CancelledError:
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            endpoint.release_slot()  # handed over just as this request was cancelled
        raise
    finally:
        timer.cancel()


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(ResponseTimedOut("Stripe did not answer within the timeout"))
