"""Routing of allowlisted paths straight to their endpoints, as pure ASGI.

The allowlist is an exact-path table, so a dict lookup replaces Starlette's router and
exception middleware on the forwarding path (the gateway's hot path); everything else —
``/healthz``, ``/readyz``, ``/metrics`` and the 404 for unknown paths — goes on to the
Starlette router. Errors of the forwarding path are rendered by the same
:func:`checkout_edge_shared.errors.error_response` the registered handlers use.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from checkout_edge_shared.errors import AppError, error_response
from gateway.pipeline import ForwardEndpoint

__all__ = ["AllowlistDispatch"]

log = logging.getLogger("gateway.dispatch")


class AllowlistDispatch:
    """Sends a request for an allowlisted path to its endpoint; others to ``app``."""

    def __init__(self, app: ASGIApp, *, endpoints: Mapping[str, ForwardEndpoint]) -> None:
        self.app = app
        self.endpoints = dict(endpoints)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self.endpoints.get(scope["path"]) if scope["type"] == "http" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        try:
            await endpoint(scope, receive, send)
        except AppError as exc:
            # Raised only before the response starts (see gateway.pipeline).
            if exc.status >= 500:
                log.warning("request failed", extra={"code": exc.code, "status": exc.status})
            await error_response(exc)(scope, receive, send)
