"""``GET | POST | PATCH | DELETE /api/cart`` (CONTRACT §3.1); the rules live in :mod:`origin.carts`.

The cart is named by the ``x-cart-id`` header or, failing that, the ``cart_id`` cookie.
Every answer is the cart priced from the catalog now. Every write (re)sets the cookie —
``HttpOnly; SameSite=Lax; Path=/``, ``Secure`` in production, ``Max-Age`` the cart's TTL —
so the browser forgets the cart when the origin does.

* ``GET`` — the cart; without any cart id, an empty cart (``cartId: null``) and nothing is
  created; with an id that is unknown, another shop's or expired, 404 ``CART_NOT_FOUND``.
* ``POST {sku, quantity, variantAttributes?}`` — add or merge; a missing, unknown or
  expired cart id starts a new cart. 404 ``UNKNOWN_SKU`` before anything is written.
* ``PATCH {lineId, quantity}`` — set a quantity, 0 removes the line.
* ``DELETE`` empties the cart; ``DELETE ?lineId=…`` removes one line.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse

from origin import carts
from origin.catalog.line_items import MAX_QUANTITY, LineItemIn
from origin.catalog.lookups import items_by_key, require_items
from origin.models import Shop
from origin.models.types import utcnow
from origin.request_bodies import StrictBody, parse_body
from origin.settings import Settings
from origin.state import get_state
from origin.web import read_json_object, resolve_shop
from shared.errors import BadRequest

__all__ = ["CART_COOKIE", "CART_HEADER", "CartEndpoint", "cart_id_from"]

CART_COOKIE = "cart_id"
CART_HEADER = "x-cart-id"

LineId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PatchBody(StrictBody):
    line_id: LineId = Field(alias="lineId")
    quantity: Annotated[int, Field(ge=0, le=MAX_QUANTITY)]


def cart_id_from(request: Request) -> str | None:
    """The cart the request names: ``x-cart-id`` first (explicit), then the cookie."""
    return request.headers.get(CART_HEADER) or request.cookies.get(CART_COOKIE) or None


def _cart_cookie(cart_id: str, settings: Settings) -> str:
    cookie = (
        f"{CART_COOKIE}={cart_id}; Max-Age={settings.cart_ttl_seconds}; Path=/; "
        "HttpOnly; SameSite=Lax"
    )
    return cookie + "; Secure" if settings.origin_env == "production" else cookie


def _written(body: dict[str, Any], cart_id: str, settings: Settings) -> JSONResponse:
    response = JSONResponse(body)
    response.headers.append("set-cookie", _cart_cookie(cart_id, settings))
    return response


async def _priced(session: AsyncSession, shop: Shop, cart_id: str) -> dict[str, Any]:
    lines = await carts.lines_of(session, cart_id=cart_id)
    catalog = await items_by_key(
        session, shop_id=shop.id, variant_keys=(line.variant_key for line in lines)
    )
    return carts.render(shop=shop, cart_id=cart_id, lines=lines, catalog=catalog)


class CartEndpoint(HTTPEndpoint):
    async def get(self, request: Request) -> JSONResponse:
        state = get_state(request)
        cart_id = cart_id_from(request)
        async with state.sessions() as session, session.begin():
            shop = await resolve_shop(request, session)
            if cart_id is None:
                return JSONResponse(carts.render(shop=shop, cart_id=None, lines=[], catalog={}))
            cart = await carts.require_cart(session, shop_id=shop.id, cart_id=cart_id, now=utcnow())
            body = await _priced(session, shop, cart.id)
        return JSONResponse(body)

    async def post(self, request: Request) -> JSONResponse:
        state = get_state(request)
        ttl = state.settings.cart_ttl_seconds
        await request.body()  # read before taking a connection
        async with state.sessions() as session, session.begin():
            shop = await resolve_shop(request, session)
            line = parse_body(LineItemIn, await read_json_object(request)).resolve()
            items = await require_items(session, shop_id=shop.id, lines=[line])
            now = utcnow()
            cart = await carts.find_cart(
                session, shop_id=shop.id, cart_id=cart_id_from(request), now=now, lock=True
            )
            if cart is None:
                cart = await carts.create_cart(session, shop_id=shop.id, now=now, ttl_seconds=ttl)
            else:
                carts.touch(cart, now=now, ttl_seconds=ttl)
            price_at_add = items[line.variant_key].price
            await carts.add_line(session, cart=cart, line=line, price_at_add=price_at_add, now=now)
            body = await _priced(session, shop, cart.id)
        return _written(body, cart.id, state.settings)

    async def patch(self, request: Request) -> JSONResponse:
        state = get_state(request)
        await request.body()
        async with state.sessions() as session, session.begin():
            shop = await resolve_shop(request, session)
            change = parse_body(PatchBody, await read_json_object(request))
            now = utcnow()
            cart = await carts.require_cart(
                session, shop_id=shop.id, cart_id=cart_id_from(request), now=now, lock=True
            )
            await carts.set_quantity(
                session, cart_id=cart.id, line_id=change.line_id, quantity=change.quantity
            )
            carts.touch(cart, now=now, ttl_seconds=state.settings.cart_ttl_seconds)
            body = await _priced(session, shop, cart.id)
        return _written(body, cart.id, state.settings)

    async def delete(self, request: Request) -> JSONResponse:
        state = get_state(request)
        line_id = request.query_params.get("lineId")
        async with state.sessions() as session, session.begin():
            shop = await resolve_shop(request, session)
            if line_id is not None and not 1 <= len(line_id) <= 64:
                raise BadRequest("lineId: must be 1 to 64 characters when given.")
            now = utcnow()
            cart = await carts.require_cart(
                session, shop_id=shop.id, cart_id=cart_id_from(request), now=now, lock=True
            )
            if line_id is None:
                await carts.clear(session, cart_id=cart.id)
            else:
                await carts.remove_line(session, cart_id=cart.id, line_id=line_id)
            carts.touch(cart, now=now, ttl_seconds=state.settings.cart_ttl_seconds)
            body = await _priced(session, shop, cart.id)
        return _written(body, cart.id, state.settings)
