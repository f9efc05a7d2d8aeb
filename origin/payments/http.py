"""The origin's HTTP client for stripe-python: keep-alive HTTP/1.1 on asyncio, nothing more.

Why not ``stripe.HTTPXClient``: a profile of a checkout put a quarter of the origin's CPU in
httpx, httpcore, anyio and h11 (sniffio's importlib lookup alone ran on every request), for
one request shape to one host. :class:`StripeHTTPClient` plugs into stripe-python through
its documented custom-client interface (a ``stripe.HTTPClient`` subclass) and keeps
stripe-python's own retry loop, so retries still carry the same ``Idempotency-Key``.

:class:`ConnectionPool`:

- per (scheme, host, port) at most ``max_connections`` connections; idle ones are reused
  newest first and retired after :data:`KEEPALIVE_EXPIRY_SECONDS`, below the server's own
  keep-alive; one the server closed while idle is seen closed and never written to;
- a request is never sent twice: once written, its fate is stripe-python's retry decision;
- one deadline, ``timeout``, over the whole request: a free connection, connecting (TLS
  included) and the complete response; a connection that failed, timed out or was cancelled
  mid-request is closed, never pooled;
- HTTPS verifies certificates and sends SNI; the default context trusts stripe-python's CA
  bundle (``stripe.ca_bundle_path``), as its own clients do.

Every failure reaches stripe-python as ``stripe.APIConnectionError(should_retry=True)``,
exactly as ``HTTPXClient`` reports any transport error, so ``stripe_client.classify`` sorts
it as before (``connection``; ``timeout`` when the caller's own deadline fires first).
"""

from __future__ import annotations

import asyncio
import ssl
import textwrap
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import stripe

from origin.payments.http_connection import (
    ConnectFailed,
    Connection,
    ConnectTimedOut,
    PoolTimedOut,
    ResponseHeaders,
    ResponseTimedOut,
    TransportError,
)

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "KEEPALIVE_EXPIRY_SECONDS",
    "MAX_RESPONSE_BYTES",
    "ConnectionPool",
    "StripeHTTPClient",
]

# Below uvicorn's 5 s (the stand-in) and near httpx's 5 s default, which the origin used before.
KEEPALIVE_EXPIRY_SECONDS = 4.0
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_CONNECTIONS = 100  # httpx's default limit, which the origin ran with before


class _Origin:
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
    """Keep-alive HTTP/1.1 connections; :meth:`request` sends one request and reads its
    whole response. Raises only :class:`~origin.payments.http_connection.TransportError`
    (and ``ValueError`` for a request it cannot write)."""

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
        self._origins: dict[tuple[str, str, int], _Origin] = {}
        self._closed = False

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, ResponseHeaders, bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        origin, target = self._route(url)
        data = _encode(method, target, origin.authority, headers, body)
        if origin.busy < self.max_connections:  # the common case, without a coroutine call
            origin.busy += 1
        else:
            await _acquire(origin, loop, deadline)
        connection = origin.take_idle()
        try:
            if connection is None:
                connection = await self._connect(origin, loop, deadline)
            done = connection.exchange(data)
            timer = loop.call_at(deadline, _expire, done)  # cheaper than asyncio.timeout
            try:
                await done
            finally:
                timer.cancel()
        except BaseException:  # failed, timed out or cancelled: never pool this connection
            if connection is not None:
                connection.close()
            origin.release_slot()
            raise
        result = connection.status, ResponseHeaders(connection.raw_headers), connection.body()
        if connection.reusable() and not self._closed:
            connection.idle_since = time.monotonic()
            origin.idle.append(connection)
        else:
            connection.close()
        origin.release_slot()
        return result

    async def aclose(self) -> None:
        """Close the idle connections (waiting briefly for them to go); one still carrying
        a request is closed when that request ends."""
        self._closed = True
        closing = []
        for origin in self._origins.values():
            for connection in origin.idle:
                connection.close()
                closing.append(connection.lost)
            origin.idle.clear()
        if closing:
            await asyncio.wait(closing, timeout=1.0)

    def _route(self, url: str) -> tuple[_Origin, str]:
        parts = urlsplit(url)
        scheme = parts.scheme
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        port = parts.port or (443 if scheme == "https" else 80)
        key = (scheme, parts.hostname, port)
        origin = self._origins.get(key)
        if origin is None:
            host = parts.hostname
            name = f"[{host}]" if ":" in host else host
            authority = name if parts.port is None else f"{name}:{port}"
            tls = self.ssl_context if scheme == "https" else None
            origin = self._origins[key] = _Origin(host, port, authority, tls)
        target = parts.path or "/"
        return origin, f"{target}?{parts.query}" if parts.query else target

    async def _connect(
        self, origin: _Origin, loop: asyncio.AbstractEventLoop, deadline: float
    ) -> Connection:
        max_body = self.max_body
        try:
            async with asyncio.timeout_at(deadline):
                _, connection = await loop.create_connection(
                    lambda: Connection(loop, max_body=max_body),
                    origin.host,
                    origin.port,
                    ssl=origin.tls,
                )
        except TimeoutError:
            raise ConnectTimedOut(f"connecting to {origin.authority} timed out") from None
        except OSError as exc:  # ssl.SSLError (a certificate refused) is an OSError too
            raise ConnectFailed(f"cannot connect to {origin.authority}: {exc}") from exc
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


async def _acquire(origin: _Origin, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
    waiter: asyncio.Future[None] = loop.create_future()
    origin.waiters.append(waiter)
    timer = loop.call_at(deadline, _expire, waiter)
    try:
        await waiter
    except ResponseTimedOut:
        raise PoolTimedOut(f"no free connection to {origin.authority} in time") from None
    except asyncio.CancelledError:
        if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
            origin.release_slot()  # handed over just as this request was cancelled
        raise
    finally:
        timer.cancel()


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(ResponseTimedOut("Stripe did not answer within the timeout"))


def _connection_error(exc: Exception) -> stripe.APIConnectionError:
    """The error ``HTTPXClient`` raises for any failure of its transport, same words and
    ``should_retry``, with what actually happened appended."""
    message = textwrap.fill(
        "Unexpected error communicating with Stripe. If this problem persists, "
        "let us know at support@stripe.com."
    )
    detail = f"A {type(exc).__name__} was raised: {exc}"
    text = f"{message}\n\n(Network error: {detail})"
    return stripe.APIConnectionError(text, should_retry=True)  # type: ignore[no-untyped-call]


class StripeHTTPClient(stripe.HTTPClient):
    """``http_client`` for ``stripe.StripeClient``; async only (the origin never calls the
    synchronous methods, which keep the base class's ``NotImplementedError``)."""

    name: ClassVar[str] = "checkout-edge-asyncio"

    def __init__(
        self,
        *,
        timeout: float,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        ssl_context: ssl.SSLContext | None = None,
        max_body: int = MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__()
        if ssl_context is None:
            ssl_context = ssl.create_default_context(cafile=stripe.ca_bundle_path)
        self.pool = ConnectionPool(
            timeout=timeout,
            max_connections=max_connections,
            ssl_context=ssl_context,
            max_body=max_body,
        )

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        # A form-encoded str, multipart bytes, or None for GET and DELETE.
        body = post_data.encode() if isinstance(post_data, str) else bytes(post_data or b"")
        try:
            status, response_headers, content = await self.pool.request(
                method.upper(), url, headers, body
            )
        except (TransportError, ValueError, UnicodeError) as exc:
            raise _connection_error(exc) from exc
        return content, status, response_headers

    async def request_stream_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[AsyncIterator[bytes], int, Mapping[str, str]]:
        content, status, response_headers = await self.request_async(
            method, url, headers, post_data
        )
        return _single_chunk(content), status, response_headers

    async def close_async(self) -> None:
        await self.pool.aclose()

    async def sleep_async(self, secs: float) -> None:
        await asyncio.sleep(secs)


async def _single_chunk(content: bytes) -> AsyncIterator[bytes]:
    yield content
