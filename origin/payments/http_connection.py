"""One keep-alive HTTP/1.1 connection to Stripe, parsed with httptools.

A connection carries one request at a time and buffers the whole response (Stripe answers
small JSON documents): :meth:`Connection.exchange` writes the request and returns a future
that resolves once the response is complete, or fails with a :class:`TransportError`.

Framing (RFC 9112 §6.3): ``Content-Length``, chunked, or — with neither — the end of the
connection. 1xx interim responses are skipped; 204 and 304 have no body. HEAD is never sent
(stripe-python sends GET, POST and DELETE), so every body is framed by its own headers. A
head over :data:`MAX_HEAD_BYTES` or a body over the connection's ``max_body`` fails the
request and closes the connection; so does anything the parser refuses and any byte that
arrives while no request is outstanding.

    TransportError
    ├── ConnectFailed        refused, reset, unresolvable, TLS handshake or certificate
    ├── ConnectTimedOut      connecting took longer than the request's deadline
    ├── PoolTimedOut         every connection stayed busy until the deadline
    ├── ResponseTimedOut     the response was not complete by the deadline
    ├── ConnectionClosed     the server closed the connection before the response was whole
    ├── InvalidResponse      bytes that are not an HTTP/1.1 response
    └── ResponseTooLarge     head or body over its cap
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import cast

import httptools

__all__ = [
    "MAX_HEAD_BYTES",
    "ConnectFailed",
    "ConnectTimedOut",
    "Connection",
    "ConnectionClosed",
    "InvalidResponse",
    "PoolTimedOut",
    "ResponseHeaders",
    "ResponseTimedOut",
    "ResponseTooLarge",
    "TransportError",
]

MAX_HEAD_BYTES = 64 * 1024


class TransportError(Exception):
    """Base of every failure of the Stripe transport."""


class ConnectFailed(TransportError):
    """The connection could not be made (refused, reset, DNS, TLS)."""


class ConnectTimedOut(TransportError):
    """Connecting took longer than the request's deadline."""


class PoolTimedOut(TransportError):
    """No connection became free before the request's deadline."""


class ResponseTimedOut(TransportError):
    """The response was not complete by the request's deadline."""


class ConnectionClosed(TransportError):
    """The server closed the connection before the response was complete."""


class InvalidResponse(TransportError):
    """The server sent bytes that are not a valid HTTP/1.1 response."""


class ResponseTooLarge(TransportError):
    """The response head or body is larger than the transport accepts."""


class ResponseHeaders(Mapping[str, str]):
    """A response's headers, looked up case-insensitively (stripe-python asks for
    ``Request-Id`` and ``request-id`` alike); repeated fields are joined with ``", "``."""

    __slots__ = ("_fields",)

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        fields: dict[str, str] = {}
        for name, value in raw:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            fields[key] = f"{fields[key]}, {text}" if key in fields else text
        self._fields = fields

    def __getitem__(self, name: str) -> str:
        return self._fields[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"ResponseHeaders({self._fields!r})"


class Connection(asyncio.Protocol):
    """The protocol object of one connection (created by ``loop.create_connection``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, max_body: int) -> None:
        self.loop = loop
        self.max_body = max_body
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.lost: asyncio.Future[None] = loop.create_future()  # done once fully closed
        self.idle_since = 0.0
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.keep_alive = False
        self.complete = False
        self._parser: httptools.HttpResponseParser | None = None
        self._done: asyncio.Future[None] | None = None
        self._body: list[bytes] = []
        self._body_size = 0
        self._head_size = self._head_fed = 0
        self._head_complete = False
        self._interim = False
        self._delimited = True

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:  # nothing asked for: a stray or excess byte; never reuse this
            self.close()
            return
        if not self._head_complete:
            self._head_fed += len(data)
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(InvalidResponse(f"invalid response from Stripe: {exc}"))
            return
        # Also bounds what the parser buffers of a field that never ends.
        if not self._head_complete and self._head_fed > MAX_HEAD_BYTES:
            self._fail(ResponseTooLarge(f"response head over {MAX_HEAD_BYTES} bytes"))

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.lost.done():
            self.lost.set_result(None)
        if self._parser is None or self.complete:
            return
        if self._head_complete and not self._delimited:
            self._finish()  # a body delimited by the end of the connection
        else:
            self._fail(ConnectionClosed("Stripe closed the connection before a full response"))

    # -- httptools callbacks ------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > MAX_HEAD_BYTES:
            self._fail(ResponseTooLarge(f"response head over {MAX_HEAD_BYTES} bytes"))
        self.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        if parser is None:  # the request failed or finished within this read
            return
        status = parser.get_status_code()
        if status < 200:  # an interim response (100, 103 Early Hints): not the answer
            self._interim = True
            return
        self.status = status
        self._head_complete = True
        # Asked here: once the message is complete the parser has reset for the next one.
        self.keep_alive = parser.should_keep_alive()
        names = [name.lower() for name, _ in self.raw_headers]
        self._delimited = b"content-length" in names or b"transfer-encoding" in names
        for name, value in self.raw_headers:
            if name.lower() == b"content-length" and int(value) > self.max_body:
                self._fail(ResponseTooLarge(f"response body over {self.max_body} bytes"))

    def on_body(self, body: bytes) -> None:
        if self._parser is None:
            return
        self._body_size += len(body)
        if self._body_size > self.max_body:
            self._fail(ResponseTooLarge(f"response body over {self.max_body} bytes"))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._parser is None:
            return
        if self._interim:
            self._interim = False
            self.raw_headers = []
            return
        self._finish()

    # -- used by the pool ---------------------------------------------------------------
    def exchange(self, request: bytes) -> asyncio.Future[None]:
        """Write one request; the future resolves once its whole response has arrived."""
        self._parser = httptools.HttpResponseParser(self)
        self._done = done = self.loop.create_future()
        self.status = self._body_size = self._head_size = self._head_fed = 0
        self.raw_headers = []
        self._body = []
        self.keep_alive = self.complete = self._head_complete = self._interim = False
        self._delimited = True
        assert self.transport is not None
        self.transport.write(request)
        return done

    def body(self) -> bytes:
        body = self._body
        return body[0] if len(body) == 1 else b"".join(body)

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self.closed

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _finish(self) -> None:
        self.complete = True
        self._parser = None  # later bytes are excess: they close the connection
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    def _fail(self, error: TransportError) -> None:
        self._parser = None
        self.close()
        if self._done is not None and not self._done.done():
            self._done.set_exception(error)
