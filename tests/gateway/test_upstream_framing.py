"""Framing of origin responses by the upstream transport (RFC 9112 §6.3): HEAD, 1xx,
204, 304, chunked, close-delimited, interrupted bodies, excess bytes, garbage."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.upstream import BodyInterrupted
from gateway.upstream.failures import InvalidResponse
from tests.gateway.upstream_servers import (
    OK,
    fetch,
    pool,
    raw_server,
    read_all,
    read_request,
    serve_each,
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
