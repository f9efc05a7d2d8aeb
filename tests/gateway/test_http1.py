"""The HTTP/1.1 origin transport against scripted raw servers (what uvicorn would do, and
what it might do wrong)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from gateway.http1 import Http1Transport

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
        finally:
            writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return head + await reader.readexactly(int(line.split(b":")[1]))
    return head


def client(**timeouts: float) -> httpx.AsyncClient:
    transport = Http1Transport(max_connections=4, keepalive_expiry=4.0)
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(5.0, **timeouts))


async def test_connections_are_kept_alive_and_reused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(OK)

    async with raw_server(handler) as (url, connections), client() as http:
        for _ in range(5):
            assert (await http.get(url + "/x")).text == "ok"
    assert len(connections) == 1


async def test_request_goes_out_byte_for_byte() -> None:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(OK)

    body = bytes(range(256))
    async with raw_server(handler) as (url, _), client() as http:
        await http.post(url + "/a%2Fb?q=%20x", content=body, headers={"X-Odd": "v a l"})
    head, _, sent = seen[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /a%2Fb?q=%20x HTTP/1.1\r\n")
    assert b"\r\nX-Odd: v a l" in head
    assert b"\r\nContent-Length: 256" in head
    assert sent == body


async def test_idempotent_request_is_retried_when_a_reused_connection_was_closed() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        await read_request(reader)  # the next request arrives ... and the origin hangs up

    async with raw_server(handler) as (url, connections), client() as http:
        assert (await http.get(url + "/1")).status_code == 200
        assert (await http.get(url + "/2")).status_code == 200
    assert len(connections) == 2


async def test_post_is_not_retried_on_a_closed_connection() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        await read_request(reader)

    async with raw_server(handler) as (url, connections), client() as http:
        await http.post(url + "/1", content=b"{}")
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post(url + "/checkout", content=b"{}")
    assert len(connections) == 1


async def test_chunked_and_close_delimited_bodies() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )

    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end")
        await writer.drain()

    async with raw_server(chunked) as (url, _), client() as http:
        assert (await http.get(url)).content == b"hello world"
    async with raw_server(until_close) as (url, _), client() as http:
        assert (await http.get(url)).content == b"until the end"


async def test_large_body_streams_through_with_backpressure() -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(payload))
        writer.write(payload)
        await writer.drain()

    received = bytearray()
    async with (
        raw_server(handler) as (url, _),
        client() as http,
        http.stream("GET", url) as response,
    ):
        async for chunk in response.aiter_raw():
            received += chunk
            await asyncio.sleep(0)  # a slow reader
    assert bytes(received) == payload


async def test_garbage_from_the_origin_is_a_protocol_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()

    async with raw_server(handler) as (url, _), client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get(url)


async def test_silent_origin_is_a_read_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(2)

    async with raw_server(handler) as (url, _), client(read=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.get(url)


async def test_refused_connection_is_a_connect_error() -> None:
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("http://127.0.0.1:1/")


async def test_interim_responses_are_skipped() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n" + OK)

    async with raw_server(handler) as (url, _), client() as http:
        response = await http.get(url)
    assert (response.status_code, response.text) == (200, "ok")
    assert "link" not in response.headers
