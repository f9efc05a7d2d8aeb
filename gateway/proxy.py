"""Forwarding to the origin: the request's bytes out, the response's bytes back.

The body goes out exactly as received (a Stripe signature is computed over those bytes)
and the response streams back undecoded, so ``Content-Encoding`` and ``Content-Length``
stay true. A small response that arrived whole goes to the client as one body message.
Failures before the origin answers become the contract's errors through
:data:`gateway.upstream.ERROR_TABLE` (502 ``ORIGIN_UNAVAILABLE``, 504 ``ORIGIN_TIMEOUT``);
a failure after the status line went out aborts the client's connection, so the client
sees a truncated response, never a complete-looking one.
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.types import Scope, Send

from checkout_edge_shared.errors import Unavailable
from checkout_edge_shared.trace import current_trace
from gateway.headers import Headers, request_headers, response_headers
from gateway.metrics import GatewayMetrics
from gateway.upstream import ERROR_TABLE, BodyInterrupted, UpstreamError, UpstreamPool

__all__ = ["OriginProxy"]

log = logging.getLogger("gateway.proxy")

ORIGIN_HEALTH_TIMEOUT_SECONDS = 1.0
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # these say "no body" with length 0


class OriginProxy:
    """Sends requests to the origin through the lifespan's connection pool."""

    def __init__(
        self, pool: UpstreamPool, *, origin_token: str, timeout: float, metrics: GatewayMetrics
    ) -> None:
        self._pool = pool
        self._token = origin_token.encode()
        self._timeout = timeout
        self._metrics = metrics

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
    ) -> int:
        """Send the request to the origin and stream its response to ``send``; its status.

        Raises :class:`checkout_edge_shared.errors.Unavailable` (502/504) when no response arrives.
        """
        method: str = scope["method"]
        trace = current_trace()
        headers = request_headers(
            scope["headers"],
            origin_token=self._token,
            client_ip=client_ip.encode(),
            request_id=request_id.encode(),
            traceparent=trace.header().encode() if trace is not None else None,
        )
        if body or method in _BODY_METHODS:
            headers.append((b"content-length", b"%d" % len(body)))
        target: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        if query:
            target += b"?" + query
        started = time.perf_counter()
        try:
            response = await self._pool.send(method.encode(), target, headers, body)
        except UpstreamError as exc:
            answer = ERROR_TABLE.get(type(exc))
            if answer is None:  # BodyInterrupted cannot happen before the head
                raise
            self._observe(route, answer.outcome, started)
            log.warning(
                "origin timed out" if answer.status == 504 else "origin unavailable",
                extra={"route": route, "code": answer.code, "error": str(exc)},
            )
            raise Unavailable(answer.message, code=answer.code, status=answer.status) from exc
        self._observe(route, "response", started)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": response_headers(response.headers) + extra_headers,
                }
            )
            if response.complete:
                await send({"type": "http.response.body", "body": response.take_buffered()})
                return response.status
            # One piece behind, so the last one goes out marked as last.
            previous = response.take_buffered()
            while chunk := await response.next_chunk():
                if previous:
                    await send({"type": "http.response.body", "body": previous, "more_body": True})
                previous = chunk
            await send({"type": "http.response.body", "body": previous})
        except BodyInterrupted as exc:
            # The status line is out: raising makes the server abort the connection.
            log.warning("origin response interrupted", extra={"route": route, "error": str(exc)})
            raise
        finally:
            response.release()
        return response.status

    async def origin_reachable(self) -> bool:
        """Whether the origin is ready within 1 s — its ``/readyz``, which checks its database."""
        try:
            async with asyncio.timeout(ORIGIN_HEALTH_TIMEOUT_SECONDS):
                response = await self._pool.send(b"GET", b"/readyz", [], b"")
                try:
                    while await response.next_chunk():
                        pass
                finally:
                    response.release()
        except (UpstreamError, TimeoutError) as exc:
            log.warning("origin health check failed", extra={"error": repr(exc)})
            return False
        return response.status < 500

    def _observe(self, route: str, outcome: str, started: float) -> None:
        self._metrics.child(self._metrics.upstream_duration, route, outcome).observe(
            time.perf_counter() - started
        )
