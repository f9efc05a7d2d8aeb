"""The upstream pool: keep-alive reuse, the request bytes, retries of safe requests,
deadlines (connect, head, free connection) and the error table."""

from __future__ import annotations

import asyncio
import socket
import time
from contextlib import suppress

import pytest

from gateway.upstream import ERROR_TABLE, BodyInterrupted
from gateway.upstream.failures import (
    ClosedBeforeResponse,
    ConnectFailed,
    ConnectTimedOut,
    PoolTimedOut,
    ResponseTimedOut,
    UpstreamError,
)
from tests.gateway.upstream_servers import (
    OK,
    fetch,
    pool,
    raw_server,
    read_all,
    read_request,
    serve_each,
)


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
