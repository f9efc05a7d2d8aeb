"""One keep-alive HTTP/1.1 connection to the origin, parsed with httptools.

A connection carries one request at a time. The response head resolves a future; the body
is buffered as it arrives (reading pauses above :data:`PAUSE_ABOVE` buffered bytes, so a
slow client slows the origin instead of growing memory) and handed out in arrival order.

Framing (RFC 9112 §6.3): ``Content-Length``, chunked (the framing is removed; the gateway's
server frames the response again) or, without either, the end of the connection. A
response to ``HEAD`` and a 1xx/204/304 have no body whatever their headers say; 1xx
interim responses are skipped. Anything the parser refuses, and any byte arriving while no
request is outstanding, closes the connection. Errors are :mod:`gateway.upstream.failures`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import cast

import httptools

from gateway.upstream.failures import (
    BodyInterrupted,
    ClosedBeforeResponse,
    InvalidResponse,
    ResponseTimedOut,
    UpstreamError,
)

__all__ = ["PAUSE_ABOVE", "Connection"]

PAUSE_ABOVE = 256 * 1024  # buffered body bytes at which reading from the origin pauses


class Connection(asyncio.Protocol):
    """The protocol object of one connection (created by ``loop.create_connection``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self.received_any = False  # any byte of the current response yet
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False
        self.keep_alive = False
        self._parser: httptools.HttpResponseParser | None = None
        self._head: asyncio.Future[None] | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._head_only = False
        self._interim = False
        self._delimited = True
        self._error: UpstreamError | None = None
        self._paused = False

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:  # nothing asked for: a stray or excess byte; never reuse this
            self.close()
            return
        self.received_any = True
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(InvalidResponse(f"invalid response from the origin: {exc}"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._head is not None and not self._head.done():
            self._fail(ClosedBeforeResponse("the origin closed the connection before answering"))
        elif self._parser is not None and not self.complete:
            if self._delimited:
                self._fail(BodyInterrupted("the origin closed the connection mid-body"))
            else:
                self._finish()  # a body delimited by the end of the connection
        self._wake()

    # -- httptools callbacks ------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        if parser is None:  # a second message in the same read: excess bytes
            self.close()
            return
        status = parser.get_status_code()
        if status < 200:
            # An interim response (103 Early Hints, a stray 100): not the answer.
            self._interim = True
            return
        self.status = status
        # Asked here: once the message is complete the parser has reset for the next one.
        self.keep_alive = parser.should_keep_alive()
        if self._head_only:
            # A HEAD response's Content-Length describes the GET body that is not sent:
            # the message ends with its head. (httptools cannot be told the method.)
            self._finish()
        else:
            names = {name.lower() for name, _ in self.headers}
            self._delimited = b"content-length" in names or b"transfer-encoding" in names
        if self._head is not None and not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        if self.complete:  # a body after a HEAD response's head: excess bytes
            self.close()
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > PAUSE_ABOVE and self.transport is not None and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.complete:
            return
        if self._interim:
            self._interim = False
            self.headers = []
            return
        self._finish()

    # -- used by the pool ---------------------------------------------------------------
    def send(self, data: bytes, *, head_only: bool) -> asyncio.Future[None]:
        """Write one request; the future resolves when the response head has arrived."""
        self._parser = httptools.HttpResponseParser(self)
        self._head = self.loop.create_future()
        self.headers = []
        self.status = 0
        self._chunks.clear()
        self._buffered = 0
        self.complete = self.keep_alive = self._interim = self.received_any = False
        self._delimited = True
        self._head_only = head_only
        self._error = None
        assert self.transport is not None
        self.transport.write(data)
        return self._head

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed and not self._chunks

    def take_buffered(self) -> bytes:
        """Every body byte received so far (the whole body once ``complete``)."""
        chunks = self._chunks
        if not chunks:
            return b""
        data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        self._resume()
        return data

    async def next_chunk(self, within: float) -> bytes:
        """The next body bytes; ``b""`` at the end. Raises :class:`BodyInterrupted`."""
        while True:
            if self._chunks:
                chunk = self._chunks.popleft()
                self._buffered -= len(chunk)
                if self._buffered <= PAUSE_ABOVE // 2:
                    self._resume()
                return chunk
            if self._error is not None:
                raise BodyInterrupted(str(self._error))
            if self.complete:
                return b""
            waiter = self._waiter = self.loop.create_future()
            timer = self.loop.call_later(within, _time_out, waiter)
            try:
                await waiter
            except ResponseTimedOut:
                self.close()
                raise BodyInterrupted("the origin went silent mid-body") from None
            finally:
                self._waiter = None
                timer.cancel()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _finish(self) -> None:
        self.complete = True
        self._parser = None  # later bytes are excess: they close the connection
        self._wake()

    def _resume(self) -> None:
        if self._paused:
            self._paused = False
            if self.transport is not None:
                self.transport.resume_reading()

    def _fail(self, error: UpstreamError) -> None:
        self._error = error
        if self._head is not None and not self._head.done():
            self._head.set_exception(error)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


def _time_out(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(ResponseTimedOut("the origin sent nothing within the timeout"))
