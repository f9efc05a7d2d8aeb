"""The origin's HTTP client for stripe-python: keep-alive HTTP/1.1 on asyncio, nothing more.

Why not ``stripe.HTTPXClient``: a profile of a checkout put a quarter of the origin's CPU in
httpx, httpcore, anyio and h11 (sniffio's importlib lookup alone ran on every request), for
one request shape to one host. :class:`StripeHTTPClient` plugs into stripe-python through
its documented custom-client interface (a ``stripe.HTTPClient`` subclass) and keeps
stripe-python's own retry loop, so retries still carry the same ``Idempotency-Key``.
Connections are :mod:`~origin.payments.http_pool`'s, framing is
:mod:`~origin.payments.http_connection`'s. HTTPS trusts stripe-python's CA bundle
(``stripe.ca_bundle_path``) unless a context is given, as stripe-python's own clients do.

Every failure reaches stripe-python as ``stripe.APIConnectionError(should_retry=True)``,
exactly as ``HTTPXClient`` reports any transport error, so ``stripe_client.classify`` sorts
it as before (``connection``; ``timeout`` when the caller's own deadline fires first).
"""

from __future__ import annotations

import asyncio
import ssl
import textwrap
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar

import stripe

from origin.payments.http_connection import TransportError
from origin.payments.http_pool import DEFAULT_MAX_CONNECTIONS, MAX_RESPONSE_BYTES, ConnectionPool

__all__ = ["StripeHTTPClient"]


def _connection_error(exc: Exception) -> stripe.APIConnectionError:
    """The error ``HTTPXClient`` raises for any failure of its transport, same words and
    ``should_retry``, with what actually happened appended."""
    message = textwrap.fill(
        "Unexpected error communicating with Stripe. If this problem persists, "
        "let us know at support@stripe.com."
    )
    detail = f"A {type(exc).__name__} was raised: {exc}"
    text = f"{message}\n\n(Network error: {detail})"
    return stripe.APIConnectionError(text, should_retry=True)  # type: ignore[no-untyped-call]


class StripeHTTPClient(stripe.HTTPClient):
    """``http_client`` for ``stripe.StripeClient``; async only (the origin never calls the
    synchronous methods, which keep the base class's ``NotImplementedError``)."""

    name: ClassVar[str] = "checkout-edge-asyncio"

    def __init__(
        self,
        *,
        timeout: float,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        ssl_context: ssl.SSLContext | None = None,
        max_body: int = MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__()
        if ssl_context is None:
            ssl_context = ssl.create_default_context(cafile=stripe.ca_bundle_path)
        self.pool = ConnectionPool(
            timeout=timeout,
            max_connections=max_connections,
            ssl_context=ssl_context,
            max_body=max_body,
        )

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        # A form-encoded str, multipart bytes, or None for GET and DELETE.
        body = post_data.encode() if isinstance(post_data, str) else bytes(post_data or b"")
        try:
            status, response_headers, content = await self.pool.request(
                method.upper(), url, headers, body
            )
        except (TransportError, ValueError) as exc:  # ValueError: a request not writable
            raise _connection_error(exc) from exc
        return content, status, response_headers

    async def request_stream_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[AsyncIterator[bytes], int, Mapping[str, str]]:
        content, status, response_headers = await self.request_async(
            method, url, headers, post_data
        )
        return _single_chunk(content), status, response_headers

    async def close_async(self) -> None:
        await self.pool.aclose()

    async def sleep_async(self, secs: float) -> None:
        await asyncio.sleep(secs)


async def _single_chunk(content: bytes) -> AsyncIterator[bytes]:
    yield content
