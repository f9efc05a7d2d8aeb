"""Forwarding to the origin: the request's bytes out, the response's bytes back.

The body goes out exactly as received (a Stripe signature is computed over those bytes)
and the response streams back undecoded, so ``Content-Encoding`` and ``Content-Length``
stay true. Failures before the origin answers become the contract's errors:
unreachable → 502 ``ORIGIN_UNAVAILABLE``; no answer within the upstream timeout →
504 ``ORIGIN_TIMEOUT``.
"""

from __future__ import annotations

import logging
import time

import httpx
from starlette.types import Scope, Send

from gateway.headers import Headers, request_headers, response_headers
from gateway.metrics import GatewayMetrics
from shared.errors import Unavailable

__all__ = ["OriginProxy"]

log = logging.getLogger("gateway.proxy")

ORIGIN_HEALTH_TIMEOUT_SECONDS = 1.0
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # these say "no body" with length 0
_EMPTY = httpx.ByteStream(b"")


class OriginProxy:
    """Sends requests to the origin through the lifespan's pooled client."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        origin_url: str,
        origin_token: str,
        timeout: float,
        metrics: GatewayMetrics,
    ) -> None:
        self._client = client
        self._origin = origin_url
        self._token = origin_token.encode()
        self._timeout = timeout
        self._metrics = metrics
        # Parsed URLs of query-less targets: only allowlisted paths get here, so it stays
        # small, and parsing a URL is a tenth of httpx's cost per request.
        self._urls: dict[bytes, httpx.URL] = {}
        self._host = httpx.URL(origin_url).netloc

    async def forward(
        self,
        scope: Scope,
        body: bytes,
        send: Send,
        *,
        route: str,
        client_ip: str,
        request_id: str,
        extra_headers: Headers,
    ) -> None:
        """Send the request to the origin and stream its response to ``send``.

        Raises :class:`shared.errors.Unavailable` (502/504) when no response arrives.
        """
        method: str = scope["method"]
        headers = request_headers(
            scope["headers"],
            origin_token=self._token,
            client_ip=client_ip.encode(),
            request_id=request_id.encode(),
        )
        headers.insert(0, (b"host", self._host))
        if body or method in _BODY_METHODS:
            headers.append((b"content-length", b"%d" % len(body)))
        # Host and Content-Length given and the body as a ready stream: httpx then has
        # nothing to derive, which makes building the request four times cheaper.
        stream = httpx.ByteStream(body) if body else _EMPTY
        request = httpx.Request(method, self._url(scope), headers=headers, stream=stream)
        response = await self._send(request, route)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": response_headers(response.headers.raw) + extra_headers,
                }
            )
            # One chunk behind, so the last one goes out marked as last: a small body is
            # one message down the middleware chain instead of two.
            previous = b""
            async for chunk in response.aiter_raw():
                if chunk:
                    if previous:
                        await send(
                            {"type": "http.response.body", "body": previous, "more_body": True}
                        )
                    previous = chunk
            await send({"type": "http.response.body", "body": previous, "more_body": False})
        except httpx.TransportError as exc:
            # The status line is already out; the client sees a truncated response.
            log.warning("origin response interrupted", extra={"route": route, "error": repr(exc)})
            raise
        finally:
            await response.aclose()

    async def origin_reachable(self) -> bool:
        """Whether the origin is ready — its ``/readyz``, which checks its database."""
        try:
            response = await self._client.get(
                self._origin + "/readyz", timeout=ORIGIN_HEALTH_TIMEOUT_SECONDS
            )
        except httpx.HTTPError as exc:
            log.warning("origin health check failed", extra={"error": repr(exc)})
            return False
        return response.status_code < 500

    def _url(self, scope: Scope) -> httpx.URL:
        target: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        if query:
            return httpx.URL(
                self._origin + target.decode("latin-1") + "?" + query.decode("latin-1")
            )
        url = self._urls.get(target)
        if url is None:
            url = self._urls[target] = httpx.URL(self._origin + target.decode("latin-1"))
        return url

    async def _send(self, request: httpx.Request, route: str) -> httpx.Response:
        started = time.perf_counter()
        outcome = "response"
        try:
            # The client's timeouts (connect, write, read: each the upstream timeout)
            # bound the wait for the response headers.
            return await self._client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
            outcome = "unavailable"
            raise _unavailable(route, exc) from exc
        except httpx.TimeoutException as exc:
            outcome = "timeout"
            log.warning("origin timed out", extra={"route": route, "timeout": self._timeout})
            raise Unavailable(
                "The checkout service did not answer in time; retry shortly.",
                code="ORIGIN_TIMEOUT",
                status=504,
            ) from exc
        except httpx.TransportError as exc:
            outcome = "unavailable"
            raise _unavailable(route, exc) from exc
        finally:
            self._metrics.child(self._metrics.upstream_duration, route, outcome).observe(
                time.perf_counter() - started
            )


def _unavailable(route: str, exc: Exception) -> Unavailable:
    log.warning("origin unavailable", extra={"route": route, "error": repr(exc)})
    return Unavailable(
        "The checkout service is unreachable right now; retry shortly.",
        code="ORIGIN_UNAVAILABLE",
        status=502,
    )
