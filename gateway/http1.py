"""An httpx transport for the one origin: HTTP/1.1 keep-alive connections, httptools parser.

The gateway talks to a single origin over loopback or a private network, and forwards
bytes without interpreting them. That needs little of a general HTTP client, and the
general ones measured expensive for it (``tests/bench/gateway.py``, results in
``tests/bench/results/``): httpcore's pool re-scans every connection whenever a request
queues or finishes and collapses as connections grow (httpx issue #3215); aiohttp holds
up but its request machinery was the largest single cost of a forwarded request.

This transport keeps idle connections in a LIFO list, writes the request head and body
in one write, and parses the response with httptools — the C parser uvicorn uses on the
other side of the same connections. Bodies are passed on as received: no decompression,
chunked framing removed (the gateway's server frames the response again). The body is
read through backpressure: a slow client pauses reading from the origin.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import cast

import httptools
import httpx

__all__ = ["Http1Transport"]

_PAUSE_ABOVE = 256 * 1024  # buffered body bytes at which reading from the origin pauses
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class _Connection(asyncio.Protocol):
    """One connection; carries one request/response at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser: httptools.HttpResponseParser | None = None
        self._head: asyncio.Future[None] | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._reason = b""
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._complete = False
        self._interim = False
        self._keep_alive = False
        self._delimited = True
        self._error: Exception | None = None
        self._paused = False

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._parser is None:  # nothing asked for: the origin is closing, or broken
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(f"invalid response from the origin: {exc}")
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._head is not None and not self._head.done():
            self._fail("the origin closed the connection before answering")
        elif self._parser is not None and not self._complete:
            if self._delimited:
                self._fail("the origin closed the connection in the middle of the body")
            else:
                self._complete = True  # a body delimited by the end of the connection
        self._wake()

    # -- httptools callbacks ------------------------------------------------------------
    def on_status(self, status: bytes) -> None:
        self._reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        if 100 <= self._parser.get_status_code() < 200:
            # An interim response (103 Early Hints, a stray 100): not the answer.
            self._interim = True
            return
        names = {name.lower() for name, _ in self._headers}
        self._delimited = b"content-length" in names or b"transfer-encoding" in names
        # Asked here: once the message is complete the parser has reset for the next one.
        self._keep_alive = self._parser.should_keep_alive()
        if self._head is not None and not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _PAUSE_ABOVE and self.transport is not None and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            self._headers, self._reason = [], b""
            return
        self._complete = True
        self._wake()

    # -- used by the transport ----------------------------------------------------------
    def send(self, data: bytes) -> asyncio.Future[None]:
        self._parser = httptools.HttpResponseParser(self)
        self._head = self.loop.create_future()
        self._headers, self._reason = [], b""
        self._chunks.clear()
        self._buffered = 0
        self._complete, self._keep_alive, self._delimited, self._error = False, False, True, None
        self._interim = False
        assert self.transport is not None
        self.transport.write(data)
        return self._head

    def response_head(self) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        assert self._parser is not None
        return self._parser.get_status_code(), self._headers, self._reason

    def reusable(self) -> bool:
        return self._complete and self._keep_alive and not self.closed and not self._chunks

    async def body(self, read_timeout: float | None) -> AsyncIterator[bytes]:
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._paused and self._buffered <= _PAUSE_ABOVE // 2:
                    self._paused = False
                    if self.transport is not None:
                        self.transport.resume_reading()
                yield chunk
                continue
            if self._error is not None:
                raise httpx.ReadError(str(self._error))
            if self._complete:
                return
            self._waiter = self.loop.create_future()
            timer = (
                self.loop.call_later(read_timeout, _time_out, self._waiter)
                if read_timeout is not None
                else None
            )
            try:
                await self._waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, message: str) -> None:
        self._error = httpx.RemoteProtocolError(message)
        if self._head is not None and not self._head.done():
            self._head.set_exception(self._error)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


def _time_out(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(httpx.ReadTimeout("the origin sent nothing within the timeout"))


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(
        self, transport: Http1Transport, connection: _Connection, read_timeout: float | None
    ) -> None:
        self._transport = transport
        self._connection = connection
        self._read_timeout = read_timeout
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._connection.body(self._read_timeout):
            yield chunk

    async def aclose(self) -> None:
        if not self._released:
            self._released = True
            self._transport._release(self._connection)


class Http1Transport(httpx.AsyncBaseTransport):
    """A pool of HTTP/1.1 connections (at most ``max_connections``) to one origin."""

    def __init__(self, *, max_connections: int, keepalive_expiry: float) -> None:
        self._keepalive_expiry = keepalive_expiry
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []
        self._tls: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        if self._slots.locked():  # all connections busy: wait, within the pool timeout
            try:
                async with asyncio.timeout(timeouts.get("pool")):
                    await self._slots.acquire()
            except TimeoutError:
                message = "no free connection to the origin"
                raise httpx.PoolTimeout(message, request=request) from None
        else:
            await self._slots.acquire()
        connection: _Connection | None = None
        try:
            data = _serialize(request, await request.aread())
            connection = self._take_idle()
            reused = connection is not None
            if connection is None:
                connection = await self._connect(request, timeouts.get("connect"))
            try:
                await _wait(connection.send(data), timeouts.get("read"), request)
            except httpx.RemoteProtocolError:
                if not (reused and request.method in _IDEMPOTENT):
                    raise
                # The origin closed an idle connection just as it was reused; a request
                # that is safe to repeat goes once more, on a new connection.
                connection.close()
                connection = await self._connect(request, timeouts.get("connect"))
                await _wait(connection.send(data), timeouts.get("read"), request)
        except BaseException:
            if connection is not None:
                connection.close()
            self._slots.release()
            raise
        status, headers, reason = connection.response_head()
        return httpx.Response(
            status_code=status,
            headers=headers,
            stream=_ResponseStream(self, connection, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": reason},
        )

    async def aclose(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < self._keepalive_expiry:
                return connection
            connection.close()
        return None

    def _release(self, connection: _Connection) -> None:
        if connection.reusable():
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        self._slots.release()

    async def _connect(self, request: httpx.Request, within: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        url = request.url
        tls = None
        if url.scheme == "https":
            tls = self._tls = self._tls or ssl.create_default_context()
        port = url.port or (443 if tls else 80)
        try:
            async with asyncio.timeout(within):
                _, protocol = await loop.create_connection(
                    lambda: _Connection(loop), url.host, port, ssl=tls
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(
                "connecting to the origin timed out", request=request
            ) from None
        except OSError as exc:
            raise httpx.ConnectError(
                f"cannot connect to the origin: {exc}", request=request
            ) from exc
        return protocol


def _serialize(request: httpx.Request, body: bytes) -> bytes:
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode(), request.url.raw_path)]
    lines.extend(b"%s: %s\r\n" % pair for pair in request.headers.raw)
    lines.append(b"\r\n")
    lines.append(body)
    return b"".join(lines)


async def _wait(head: asyncio.Future[None], within: float | None, request: httpx.Request) -> None:
    """Wait for the response head; a timer (cheaper than asyncio.timeout) bounds it."""
    if within is None:
        await head
        return
    timer = asyncio.get_running_loop().call_later(within, _time_out, head)
    try:
        await head
    except httpx.ReadTimeout as exc:
        raise httpx.ReadTimeout(str(exc), request=request) from None
    except httpx.RemoteProtocolError as exc:
        raise httpx.RemoteProtocolError(str(exc), request=request) from None
    finally:
        timer.cancel()
