"""The upstream transport against scripted raw servers: HTTP/1.1 framing (RFC 9112 §6.3),
keep-alive reuse, retries, deadlines, and origins that misbehave."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

import pytest

from gateway.upstream import ERROR_TABLE, BodyInterrupted, UpstreamPool, UpstreamResponse
from gateway.upstream.failures import (
    ClosedBeforeResponse,
    ConnectFailed,
    ConnectTimedOut,
    InvalidResponse,
    PoolTimedOut,
    ResponseTimedOut,
    UpstreamError,
)

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A server running ``handler`` per connection; yields its URL and a connection count."""
    connections: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return head + await reader.readexactly(int(line.split(b":")[1]))
    return head


def serve_each(*responses: bytes) -> Handler:
    """A keep-alive handler answering successive requests with ``responses``."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for response in responses:
            await read_request(reader)
            writer.write(response)
            await writer.drain()
        await reader.read()  # stay open until the client goes

    return handler


@asynccontextmanager
async def pool(url: str, within: float = 5.0, size: int = 4) -> AsyncIterator[UpstreamPool]:
    upstream = UpstreamPool(url, max_connections=size, timeout=within)
    try:
        yield upstream
    finally:
        await upstream.aclose()


async def fetch(upstream: UpstreamPool, method: bytes = b"GET", target: bytes = b"/x") -> bytes:
    response = await upstream.send(method, target, [], b"")
    return await read_all(response)


async def read_all(response: UpstreamResponse) -> bytes:
    try:
        body = response.take_buffered()
        while chunk := await response.next_chunk():
            body += chunk
        return body
    finally:
        response.release()


async def test_connections_are_kept_alive_and_reused() -> None:
    async with raw_server(serve_each(*[OK] * 5)) as (url, connections), pool(url) as upstream:
        for _ in range(5):
            assert await fetch(upstream) == b"ok"
    assert len(connections) == 1


async def test_request_goes_out_byte_for_byte() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(OK)
        await writer.drain()

    body = bytes(range(256))
    headers = [(b"x-odd", b"v a l"), (b"content-length", b"256")]
    async with raw_server(handler) as (url, _), pool(url) as upstream:
        await read_all(await upstream.send(b"POST", b"/a%2Fb?q=%20x", headers, body))
    port = url.rsplit(":", 1)[1]
    assert seen[0] == (
        b"POST /a%2Fb?q=%20x HTTP/1.1\r\nhost: 127.0.0.1:" + port.encode() + b"\r\n"
        b"x-odd: v a l\r\ncontent-length: 256\r\n\r\n" + body
    )


async def test_head_with_content_length_and_no_body_returns_at_once() -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"
    async with raw_server(serve_each(head, OK)) as (url, connections), pool(url, 3) as upstream:
        started = time.monotonic()
        response = await upstream.send(b"HEAD", b"/x", [], b"")
        assert (response.status, response.complete) == (200, True)
        assert (b"content-length", b"5") in response.headers
        assert await read_all(response) == b""
        assert time.monotonic() - started < 2  # not the read timeout
        assert await fetch(upstream) == b"ok"  # the connection carries the next request
    assert len(connections) == 1


async def test_head_answered_with_a_body_is_not_reused() -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"
    async with raw_server(serve_each(head, OK)) as (url, _), pool(url) as upstream:
        assert await fetch(upstream, b"HEAD") == b""
        await asyncio.sleep(0.05)
        # The stray body closed that connection: the next request gets a new one, and
        # never reads "hello" as its own response.
    async with raw_server(serve_each(head)) as (url, _), pool(url) as upstream:
        response = await upstream.send(b"HEAD", b"/x", [], b"")
        await asyncio.sleep(0.05)
        assert await read_all(response) == b""
        assert upstream._idle == []


@pytest.mark.parametrize(
    "response",
    [
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
        b'HTTP/1.1 304 Not Modified\r\netag: "abc"\r\ncontent-length: 120\r\n\r\n',
        b"HTTP/1.1 304 Not Modified\r\ntransfer-encoding: chunked\r\n\r\n",
    ],
    ids=["204", "204-length-0", "304-with-length", "304-chunked"],
)
async def test_no_body_statuses_end_with_their_head(response: bytes) -> None:
    async with raw_server(serve_each(response, OK)) as (url, connections), pool(url) as upstream:
        answer = await upstream.send(b"GET", b"/x", [], b"")
        assert answer.complete
        assert await read_all(answer) == b""
        assert await fetch(upstream) == b"ok"
    assert len(connections) == 1


async def test_chunked_body_is_unframed_and_the_connection_reused() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\ntrailer: x\r\n\r\n"
    )
    async with raw_server(serve_each(chunked, OK)) as (url, connections), pool(url) as upstream:
        assert await fetch(upstream) == b"hello world"
        assert await fetch(upstream) == b"ok"
    assert len(connections) == 1


async def test_chunked_body_arriving_in_pieces_streams() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for piece in (b"a", b"bb", b"ccc"):
            await asyncio.sleep(0.02)
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    async with raw_server(handler) as (url, _), pool(url) as upstream:
        response = await upstream.send(b"GET", b"/x", [], b"")
        assert not response.complete
        assert await read_all(response) == b"abbccc"


async def test_body_delimited_by_connection_close() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end")
        await writer.drain()

    async with raw_server(handler) as (url, _), pool(url) as upstream:
        assert await fetch(upstream) == b"until the end"
        assert upstream._idle == []


async def test_connection_close_response_is_not_reused() -> None:
    close = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"
    async with (
        raw_server(serve_each(close)) as (url, connections),
        pool(url) as upstream,
    ):
        assert await fetch(upstream) == b"ok"
        assert await fetch(upstream) == b"ok"
    assert len(connections) == 2


async def test_http_1_0_response_without_keep_alive_is_not_reused() -> None:
    old = b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok"
    async with raw_server(serve_each(old)) as (url, connections), pool(url) as upstream:
        assert await fetch(upstream) == b"ok"
        assert await fetch(upstream) == b"ok"
    assert len(connections) == 2


@pytest.mark.parametrize(
    "partial",
    [
        b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nfour",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4\r\nfour\r\n",
    ],
    ids=["content-length", "chunked"],
)
async def test_origin_closing_mid_response_is_body_interrupted(partial: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(partial)
        await writer.drain()
        await asyncio.sleep(0.05)

    async with raw_server(handler) as (url, _), pool(url) as upstream:
        response = await upstream.send(b"GET", b"/x", [], b"")
        assert response.status == 200
        with pytest.raises(BodyInterrupted):
            await read_all(response)
        assert upstream._idle == []


async def test_origin_silent_mid_body_is_body_interrupted_after_the_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nfour")
        await writer.drain()
        await asyncio.sleep(2)

    async with raw_server(handler) as (url, _), pool(url, within=0.2) as upstream:
        response = await upstream.send(b"GET", b"/x", [], b"")
        with pytest.raises(BodyInterrupted):
            await read_all(response)


async def test_idempotent_request_is_retried_when_a_reused_connection_was_closed() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        await read_request(reader)  # the next request arrives ... and the origin hangs up

    async with raw_server(handler) as (url, connections), pool(url) as upstream:
        assert await fetch(upstream, target=b"/1") == b"ok"
        assert await fetch(upstream, target=b"/2") == b"ok"
    assert len(connections) == 2


async def test_post_is_not_retried_on_a_closed_connection() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        await read_request(reader)

    async with raw_server(handler) as (url, connections), pool(url) as upstream:
        await fetch(upstream, b"POST")
        with pytest.raises(ClosedBeforeResponse):
            await fetch(upstream, b"POST", b"/checkout")
    assert len(connections) == 1


async def test_large_body_streams_through_with_backpressure() -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB
    response_bytes = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(payload) + payload
    async with raw_server(serve_each(response_bytes)) as (url, _), pool(url) as upstream:
        response = await upstream.send(b"GET", b"/x", [], b"")
        received = bytearray(response.take_buffered())
        try:
            while chunk := await response.next_chunk():
                received += chunk
                await asyncio.sleep(0)  # a slow reader
        finally:
            response.release()
    assert bytes(received) == payload


async def test_excess_bytes_after_a_response_close_the_connection() -> None:
    doubled = OK + b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nevil"
    async with raw_server(serve_each(doubled, OK)) as (url, connections), pool(url) as upstream:
        assert await fetch(upstream) == b"ok"
        await asyncio.sleep(0.05)
        assert await fetch(upstream) == b"ok"  # a new connection, not the smuggled reply
    assert len(connections) == 2


async def test_interim_responses_are_skipped() -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n" + OK
    async with raw_server(serve_each(early)) as (url, _), pool(url) as upstream:
        response = await upstream.send(b"GET", b"/x", [], b"")
        assert response.status == 200
        assert all(name != b"link" for name, _ in response.headers)
        assert await read_all(response) == b"ok"


async def test_garbage_from_the_origin_is_an_invalid_response() -> None:
    async with raw_server(serve_each(b"NOT HTTP AT ALL\r\n\r\n")) as (url, _), pool(url) as up:
        with pytest.raises(InvalidResponse):
            await fetch(up)


async def test_silent_origin_is_a_response_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(2)

    async with raw_server(handler) as (url, _), pool(url, within=0.2) as upstream:
        started = time.monotonic()
        with pytest.raises(ResponseTimedOut):
            await fetch(upstream)
        assert time.monotonic() - started < 1.5
        assert upstream._busy == 0


async def test_refused_connection_is_connect_failed() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    async with pool(f"http://127.0.0.1:{port}") as upstream:
        with pytest.raises(ConnectFailed):
            await fetch(upstream)


async def test_connect_that_never_completes_is_connect_timed_out() -> None:
    # A listener whose backlog is full: further SYNs are dropped, connecting hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            with suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        async with pool(f"http://127.0.0.1:{port}", within=0.3) as upstream:
            with pytest.raises(ConnectTimedOut):
                await fetch(upstream)
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_requests_wait_for_a_free_connection_within_the_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")  # body held back
        await writer.drain()
        await asyncio.sleep(2)

    async with raw_server(handler) as (url, _), pool(url, within=0.2, size=1) as upstream:
        held = await upstream.send(b"GET", b"/x", [], b"")
        with pytest.raises(PoolTimedOut):
            await upstream.send(b"GET", b"/y", [], b"")
        held.release()  # frees the slot (and closes the half-read connection)
        assert upstream._busy == 0


async def test_a_released_connection_is_handed_to_a_waiting_request() -> None:
    async with raw_server(serve_each(OK, OK)) as (url, connections), pool(url, size=1) as up:
        first = await up.send(b"GET", b"/x", [], b"")
        waiting = asyncio.ensure_future(fetch(up))
        await asyncio.sleep(0.02)
        assert not waiting.done()
        assert await read_all(first) == b"ok"
        assert await waiting == b"ok"
    assert len(connections) == 1


def test_every_error_before_the_head_has_an_answer() -> None:
    before_head = {cls for cls in UpstreamError.__subclasses__() if cls is not BodyInterrupted}
    assert set(ERROR_TABLE) == before_head
    statuses = {cls.__name__: answer.status for cls, answer in ERROR_TABLE.items()}
    assert statuses == {
        "ConnectFailed": 502,
        "ConnectTimedOut": 504,
        "PoolTimedOut": 504,
        "ClosedBeforeResponse": 502,
        "InvalidResponse": 502,
        "ResponseTimedOut": 504,
    }
