"""Request plumbing shared by the origin's routes: JSON bodies, the shop, the gateway token."""

from __future__ import annotations

import hmac
import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from origin.catalog.cache import CatalogCache, ShopCatalog
from origin.models import Shop
from shared.errors import BadRequest, NotFound, Unauthorized, error_response

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


async def resolve_shop(request: Request, session: AsyncSession) -> Shop:
    """The shop named by ``x-shop-id``; 404 ``SHOP_NOT_FOUND`` before anything else is read."""
    shop_id = request.headers.get(SHOP_HEADER, "")
    shop = await session.get(Shop, shop_id) if shop_id else None
    if shop is None:
        raise NotFound(f"Shop {shop_id!r} does not exist.", code="SHOP_NOT_FOUND")
    # For the per-shop request metric: a label value only once the shop is known to exist.
    request.state.shop_id = shop.id
    return shop


class GatewayTokenMiddleware:
    """Every ``/api/*`` request must carry ``x-gateway-token`` (401 ``GATEWAY_UNAUTHORIZED``)."""

    def __init__(self, app: ASGIApp, *, tokens: tuple[str, ...]) -> None:
        self.app = app
        # Several tokens during a rotation; every one is compared (constant time each).
        self.tokens = tuple(t.encode() for t in tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            presented = next((v for k, v in scope["headers"] if k == b"x-gateway-token"), b"")
            matches = [hmac.compare_digest(presented, token) for token in self.tokens]
            if not any(matches):
                response = error_response(
                    Unauthorized(
                        "This service only accepts requests from the gateway.",
                        code="GATEWAY_UNAUTHORIZED",
                    )
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
