"""Request plumbing shared by the origin's routes: JSON bodies, the shop, the gateway token,
and the input screen (query parameters and headers; JSON strings in :func:`read_json_object`)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from checkout_edge_shared.errors import AppError, BadRequest, NotFound, Unauthorized, error_response
from checkout_edge_shared.secrets import token_matches
from origin.catalog.cache import CatalogCache, ShopCatalog
from origin.request_bodies import screen_strings, screen_text

SHOP_HEADER = "x-shop-id"


async def read_json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, or 400 ``INVALID_REQUEST`` saying what is wrong."""
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("The request body must be a JSON object; it is empty.")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise BadRequest("The request body is nested too deeply.") from None
    except ValueError as exc:
        # e.g. an integer of more than 4300 digits: valid JSON, but not acceptable.
        raise BadRequest(f"The request body is not acceptable JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    screen_strings(data)
    return data


async def shop_catalog(request: Request, session: AsyncSession, cache: CatalogCache) -> ShopCatalog:
    """The catalog of the shop named by ``x-shop-id`` (cached); 404 ``SHOP_NOT_FOUND`` before
    anything else is read."""
    shop_id = request.headers.get(SHOP_HEADER, "")
    catalog = await cache.shop(session, shop_id) if shop_id else None
    if catalog is None:
        raise NotFound(f"Shop {shop_id!r} does not exist.", code="SHOP_NOT_FOUND")
    # For the per-shop request metric: a label value only once the shop is known to exist.
    request.state.shop_id = catalog.shop.id
    return catalog


class GatewayTokenMiddleware:
    """Every ``/api/*`` request must carry ``x-gateway-token`` (401 ``GATEWAY_UNAUTHORIZED``)."""

    def __init__(self, app: ASGIApp, *, tokens: tuple[str, ...]) -> None:
        self.app = app
        # Several tokens during a rotation; every one is compared (constant time each).
        self.tokens = tuple(t.encode() for t in tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            presented = next((v for k, v in scope["headers"] if k == b"x-gateway-token"), b"")
            if not token_matches(presented, self.tokens):
                response = error_response(
                    Unauthorized(
                        "This service only accepts requests from the gateway.",
                        code="GATEWAY_UNAUTHORIZED",
                    )
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _screen_request(scope: Scope) -> None:
    """400 ``INVALID_REQUEST`` for a query parameter or header that is not clean text."""
    query: bytes = scope.get("query_string", b"")
    if query:
        try:
            pairs = parse_qsl(
                query.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict"
            )
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("The query string is not valid UTF-8 text.") from None
        for name, value in pairs:
            screen_text(name, "query parameter name")
            screen_text(value, f"query parameter {name}")
    for name, value in scope["headers"]:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"header {name.decode('latin-1')}: is not valid UTF-8.") from None
        # A tab is allowed inside a field value (RFC 9110 §5.5); nothing else below 0x20.
        screen_text(text.replace("\t", " "), f"header {name.decode('latin-1')}")


class InputScreenMiddleware:
    """Refuses ``/api/*`` requests whose query or headers hold control characters,
    unpaired surrogates or bytes that are not UTF-8 (400 ``INVALID_REQUEST``), before any
    route reads them; JSON bodies are screened where they are parsed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            try:
                _screen_request(scope)
            except AppError as exc:
                await error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)
