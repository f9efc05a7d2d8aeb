"""Check 1 of the contract: only the front door may talk to the gateway.

Pure ASGI, outside routing, so an unauthenticated caller learns nothing about which paths
exist (the 401 comes before any 404 or 405).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from checkout_edge_shared.errors import Unauthorized, error_response
from checkout_edge_shared.secrets import token_matches
from gateway.routes import FRONT_DOOR_EXEMPT

__all__ = ["FrontDoorMiddleware", "token_matches"]


class FrontDoorMiddleware:
    """Answers 401 ``FRONT_DOOR_UNAUTHORIZED`` unless ``x-front-door-token`` is accepted."""

    def __init__(self, app: ASGIApp, *, tokens: Sequence[bytes]) -> None:
        self.app = app
        self.tokens = tuple(tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in FRONT_DOOR_EXEMPT:
            await self.app(scope, receive, send)
            return
        presented = next((v for n, v in scope["headers"] if n == b"x-front-door-token"), None)
        if presented is not None and token_matches(presented, self.tokens):
            await self.app(scope, receive, send)
            return
        response = error_response(
            Unauthorized(
                "This endpoint is only reachable through the front door.",
                code="FRONT_DOOR_UNAUTHORIZED",
            )
        )
        await response(scope, receive, send)
