"""Scripted raw HTTP servers and helpers for the upstream transport's tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from gateway.upstream import UpstreamPool, UpstreamResponse

__all__ = ["OK", "fetch", "pool", "raw_server", "read_all", "read_request", "serve_each"]

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
