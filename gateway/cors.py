"""CORS for storefronts that call the gateway from the browser (``GATEWAY_CORS_ORIGINS``).

The setting maps shops to the browser origins allowed to call them::

    cochlearfit=https://cochlearfit.example|https://www.cochlearfit.example;shop2=https://…

Pure ASGI, between the front-door check and the allowlist dispatch:

- **Preflight** (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) on an
  allowlisted path: answered here, never forwarded, and instead of the method, shop-id and
  rate-limit checks (a browser sends no ``x-shop-id`` value in a preflight). An origin
  listed for any shop → 204 with the path's methods; any other origin → 403
  ``CORS_ORIGIN_NOT_ALLOWED`` without CORS headers.
- **Actual request**: ``Access-Control-Allow-Origin`` (with credentials) is added to the
  response — the gateway's own errors included, so a storefront can read a 429 — only
  when ``Origin`` is listed for the request's own ``x-shop-id``. A shop's origins never
  unlock another shop's data.

Without the setting no origin is listed: no CORS headers, and every preflight is a 403.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from checkout_edge_shared.errors import Forbidden, error_response
from gateway.identity import SHOP_ID_PATTERN
from gateway.routes import find_rule

__all__ = ["CorsMiddleware", "parse_cors_origins"]

ALLOWED_HEADERS = b"x-shop-id, x-cart-id, idempotency-key, content-type"
EXPOSED_HEADERS = b"x-request-id, retry-after, ratelimit, ratelimit-policy"
PREFLIGHT_MAX_AGE = b"600"
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")


def parse_cors_origins(text: str) -> dict[str, frozenset[str]]:
    """``shop=origin|origin;shop2=origin`` → {shop: origins}; ``ValueError`` naming the part."""
    allowed: dict[str, frozenset[str]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        shop, sep, origins = part.partition("=")
        shop = shop.strip()
        if not sep or not SHOP_ID_PATTERN.fullmatch(shop):
            raise ValueError(f"{part!r} is not shop=https://origin|https://origin")
        listed = {o.strip().lower().rstrip("/") for o in origins.split("|") if o.strip()}
        if not listed:
            raise ValueError(f"shop {shop!r} lists no origin")
        for origin in listed:
            parts = urlsplit(origin)
            if not _ORIGIN.fullmatch(origin) or parts.path or parts.query:
                raise ValueError(f"{origin!r} is not an origin such as https://shop.example")
        allowed[shop] = allowed.get(shop, frozenset()) | frozenset(listed)
    return allowed


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class CorsMiddleware:
    """Answers preflights and marks allowed responses; see the module docstring."""

    def __init__(self, app: ASGIApp, *, origins: Mapping[str, frozenset[str]]) -> None:
        self.app = app
        self.by_shop = {
            shop.encode(): frozenset(o.encode() for o in listed) for shop, listed in origins.items()
        }
        self.any_shop = frozenset().union(*self.by_shop.values()) if self.by_shop else frozenset()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        rule = find_rule(scope["path"]) if origin is not None else None
        if origin is None or rule is None:
            await self.app(scope, receive, send)
            return
        origin = origin.lower()
        if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
            await self._preflight(scope, receive, send, origin, rule.allow_header.encode())
            return
        shop = _header(scope, b"x-shop-id")
        if shop is None or origin not in self.by_shop.get(shop, frozenset()):
            await self.app(scope, receive, send)
            return

        async def send_allowed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", origin),
                    (b"access-control-allow-credentials", b"true"),
                    (b"access-control-expose-headers", EXPOSED_HEADERS),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, send_allowed)

    async def _preflight(
        self, scope: Scope, receive: Receive, send: Send, origin: bytes, methods: bytes
    ) -> None:
        if origin not in self.any_shop:
            refusal = Forbidden(
                "This browser origin is not allowed to call the checkout API.",
                code="CORS_ORIGIN_NOT_ALLOWED",
            )
            await error_response(refusal)(scope, receive, send)
            return
        headers = [
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-methods", methods),
            (b"access-control-allow-headers", ALLOWED_HEADERS),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-max-age", PREFLIGHT_MAX_AGE),
            (b"vary", b"Origin"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
