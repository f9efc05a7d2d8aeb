"""The gateway's one way to the origin: a pool of keep-alive HTTP/1.1 connections.

Why not a general HTTP client: the gateway sends requests it has already validated to one
origin and passes the response's bytes on untouched, so it needs none of a client's URL
handling, cookies, redirects, decoding or per-request objects — which measured as the
largest part of a forwarded request's cost (docs/gateway.md, "Performance"). What it does
need is here, with tests as a library would have them (``tests/gateway/test_upstream.py``):

- at most ``max_connections`` connections; idle ones are reused newest first (LIFO keeps
  few connections warm) and retired after ``KEEPALIVE_EXPIRY_SECONDS``, below the origin
  server's own keep-alive so the origin never closes one under a request being sent;
- one deadline, ``timeout``, for each wait: a free connection, connecting, the response
  head, and each piece of the body;
- a request that is safe to repeat (RFC 9110 §9.2.2) and finds its reused connection
  closed by the origin before any response byte goes once more on a new connection;
- failures only as :mod:`gateway.upstream.failures`, never ``OSError`` or ``TimeoutError``.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from urllib.parse import urlsplit

from gateway.upstream.connection import Connection
from gateway.upstream.failures import (
    ClosedBeforeResponse,
    ConnectFailed,
    ConnectTimedOut,
    PoolTimedOut,
    ResponseTimedOut,
)

__all__ = ["KEEPALIVE_EXPIRY_SECONDS", "UpstreamPool", "UpstreamResponse"]

# Below uvicorn's default keep-alive (5 s) on the origin.
KEEPALIVE_EXPIRY_SECONDS = 4.0
_IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE"})


class UpstreamResponse:
    """A response whose head has arrived; ``release()`` it exactly once when done."""

    __slots__ = ("_connection", "_pool", "headers", "status")

    def __init__(self, pool: UpstreamPool, connection: Connection) -> None:
        self._pool = pool
        self._connection = connection
        self.status = connection.status
        self.headers = connection.headers

    @property
    def complete(self) -> bool:
        """True when the whole body has arrived already (small responses, usually)."""
        return self._connection.complete

    def take_buffered(self) -> bytes:
        return self._connection.take_buffered()

    async def next_chunk(self) -> bytes:
        """The next piece of the body, ``b""`` at its end; raises ``BodyInterrupted``."""
        return await self._connection.next_chunk(self._pool.timeout)

    def release(self) -> None:
        self._pool.release(self._connection)


class UpstreamPool:
    """Connections to the one origin at ``origin_url`` (``http://host:port``)."""

    def __init__(self, origin_url: str, *, max_connections: int, timeout: float) -> None:
        parts = urlsplit(origin_url)
        self.timeout = timeout
        self.authority = parts.netloc.encode()
        self._host = parts.hostname or "127.0.0.1"
        self._tls = ssl.create_default_context() if parts.scheme == "https" else None
        self._port = parts.port or (443 if self._tls else 80)
        self._max = max_connections
        self._busy = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._idle: list[Connection] = []
        self._closed = False

    async def send(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> UpstreamResponse:
        """Send one request (``headers`` without Host, Content-Length as needed)."""
        head = [b"%s %s HTTP/1.1\r\nhost: %s\r\n" % (method, target, self.authority)]
        head += [b"%s: %s\r\n" % pair for pair in headers]
        head.append(b"\r\n")
        head.append(body)
        data = b"".join(head)
        head_only = method == b"HEAD"
        if self._busy < self._max:  # the common case, without a coroutine call
            self._busy += 1
        else:
            await self._acquire()
        connection = self._take_idle()
        try:
            reused = connection is not None
            if connection is None:
                connection = await self._connect()
            try:
                arrived = connection.send(data, head_only=head_only)
                # A timer, cheaper than asyncio.timeout, bounds the wait for the head.
                timer = connection.loop.call_later(self.timeout, _expire, arrived)
                try:
                    await arrived
                finally:
                    timer.cancel()
            except ClosedBeforeResponse:
                if not (reused and method in _IDEMPOTENT and not connection.received_any):
                    raise
                # The origin closed an idle connection just as it was reused; a request
                # that is safe to repeat goes once more, on a new connection.
                connection.close()
                connection = await self._connect()
                await self._exchange(connection, data, head_only)
        except BaseException:
            if connection is not None:
                connection.close()
            self._release_slot()
            raise
        return UpstreamResponse(self, connection)

    def release(self, connection: Connection) -> None:
        if connection.reusable() and not self._closed:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        self._release_slot()

    async def aclose(self) -> None:
        self._closed = True
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    async def _exchange(self, connection: Connection, data: bytes, head_only: bool) -> None:
        head = connection.send(data, head_only=head_only)
        # A timer, cheaper than asyncio.timeout, bounds the wait for the head.
        timer = connection.loop.call_later(self.timeout, _expire, head)
        try:
            await head
        finally:
            timer.cancel()

    async def _acquire(self) -> None:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(self.timeout, _expire, waiter)
        try:
            await waiter  # a releasing request hands its slot over (busy stays the same)
        except ResponseTimedOut:
            raise PoolTimedOut("no free connection to the origin in time") from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release_slot()  # handed over just as this request was cancelled
            raise
        finally:
            timer.cancel()

    def _release_slot(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._busy -= 1

    def _take_idle(self) -> Connection | None:
        if not self._idle:
            return None
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < KEEPALIVE_EXPIRY_SECONDS:
                return connection
            connection.close()
        return None

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(loop), self._host, self._port, ssl=self._tls
                )
        except TimeoutError:
            raise ConnectTimedOut("connecting to the origin timed out") from None
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to the origin: {exc}") from exc
        return connection


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(ResponseTimedOut("the origin sent nothing within the timeout"))
