"""The connection pool to the origin: one ``httpx.AsyncClient``, owned by the lifespan.

httpx is the client API; what carries the bytes is chosen by ``GATEWAY_UPSTREAM_TRANSPORT``
(measured side by side by ``tests/bench/gateway.py``):

- ``http1`` (default): :class:`gateway.http1.Http1Transport`, keep-alive HTTP/1.1 with
  the httptools parser — the cheapest per request.
- ``aiohttp``: :class:`AiohttpTransport`, an httpx transport over aiohttp's pool. It
  holds its throughput from 64 to 256 connections, at a higher cost per request.
- ``httpx``: httpx's own httpcore pool, with the same explicit limits. It collapses as
  connections grow: the pool re-scans every connection whenever a request queues or
  completes (httpx issue #3215).

Either way the client never decompresses (bodies are read with ``aiter_raw``), never keeps
cookies (one shopper's cart cookie must not ride along with another's request), never
follows redirects and ignores proxy variables from the environment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Literal

import aiohttp
import httpx
from multidict import CIMultiDict
from yarl import URL

from gateway.http1 import Http1Transport

__all__ = ["KEEPALIVE_EXPIRY_SECONDS", "AiohttpTransport", "OriginClient", "build_origin_client"]

# Below uvicorn's default keep-alive (5 s) on the origin, so the gateway retires an idle
# connection before the origin closes it under a request that is being sent.
KEEPALIVE_EXPIRY_SECONDS = 4.0

# aiohttp adds these unless told not to; a proxy must send only what the client sent
# (an Accept-Encoding the client never asked for would get it a compressed body).
_SKIP_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")

_TimeoutKey = tuple[float | None, float | None, float | None]


class _NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class OriginClient(httpx.AsyncClient):
    """An ``AsyncClient`` whose cookie jar stays empty (Set-Cookie goes to the browser)."""

    _NO_COOKIES = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        return None


class _AiohttpStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _translate(exc, self._request) from exc

    async def aclose(self) -> None:
        # Returns the connection to the pool when the body was read to the end, and
        # closes it otherwise (a half-read response cannot carry another request).
        self._response.release()


def _translate(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """aiohttp's exceptions as the httpx ones the gateway handles."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, TimeoutError):  # aiohttp's socket-read and total timeouts
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientOSError):
        return httpx.ReadError(message, request=request)
    return httpx.TransportError(message)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends over an aiohttp connection pool, bytes untouched."""

    def __init__(self, *, max_connections: int, keepalive_expiry: float) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[_TimeoutKey, aiohttp.ClientTimeout] = {}

    def _get_session(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop that will own it.
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_expiry,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=_SKIP_AUTO_HEADERS,
                trust_env=False,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    def _timeout(self, extension: Any) -> aiohttp.ClientTimeout:
        extension = extension or {}
        key = (extension.get("connect"), extension.get("read"), extension.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            connect, read, pool = key
            waiting = None if connect is None or pool is None else connect + pool
            timeout = aiohttp.ClientTimeout(
                total=None, connect=waiting, sock_connect=connect, sock_read=read
            )
            self._timeouts[key] = timeout
        return timeout

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        headers = CIMultiDict(
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw
        )
        try:
            response = await self._get_session().request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=self._timeout(request.extensions.get("timeout")),
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _translate(exc, request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_AiohttpStream(response, request),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1"),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            # Let the connector's transports finish closing before the loop goes away.
            await asyncio.sleep(0)


def build_origin_client(
    *,
    transport: Literal["http1", "aiohttp", "httpx"],
    max_connections: int,
    timeout: float,
) -> OriginClient:
    """The pooled client for the origin, with explicit limits and per-operation timeouts."""
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
    )
    chosen: httpx.AsyncBaseTransport
    if transport == "http1":
        chosen = Http1Transport(
            max_connections=max_connections, keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS
        )
    elif transport == "aiohttp":
        chosen = AiohttpTransport(
            max_connections=max_connections, keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS
        )
    else:
        chosen = httpx.AsyncHTTPTransport(limits=limits, retries=0)
    return OriginClient(
        transport=chosen,
        limits=limits,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
    )
