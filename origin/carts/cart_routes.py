"""``GET | POST | PATCH | DELETE /api/cart`` (docs/api.md §3.1); the rules live in
:mod:`origin.carts`.

The cart is named by the ``cart_id`` cookie or the ``x-cart-id`` header; when both are sent
they must agree (:mod:`origin.carts.cart_identity`, else 400 ``CART_ID_CONFLICT``). Every answer is
the cart priced from the catalog now, with its ``revision``; every write increases it. Every
write (re)sets the cookie — ``HttpOnly; SameSite=Lax; Path=/``, ``Secure`` in production,
``Max-Age`` the cart's TTL — so the browser forgets the cart when the origin does.

* ``GET`` — the cart; without any cart id, an empty cart (``cartId: null``) and nothing is
  created; with an id that is unknown, another shop's or expired, 404 ``CART_NOT_FOUND``.
* ``POST {sku, quantity, variantAttributes?}`` — add or merge; a missing, unknown or
  expired cart id starts a new cart. 404 ``UNKNOWN_SKU`` before anything is written.
* ``PATCH {lineId, quantity}`` — set a quantity, 0 removes the line.
* ``DELETE`` empties the cart; ``DELETE ?lineId=…`` removes one line.

The shop and the prices come from the per-shop catalog cache (:mod:`origin.catalog.cache`):
one primary-key read of ``catalog_version`` per request, so a price or a variant changed by
``seed`` or by hand shows in the very next answer, and a warm cache reads nothing else of the
catalog. Only the cart's own rows are read and written here.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse

from checkout_edge_shared.errors import BadRequest
from origin.carts import cart_store as carts
from origin.carts.cart_identity import CART_COOKIE, requested_cart_id
from origin.carts.cart_view import render
from origin.catalog.cache import ShopCatalog
from origin.catalog.line_items import MAX_QUANTITY, LineItemIn
from origin.catalog.lookups import known_items
from origin.models import Cart
from origin.models.types import utcnow
from origin.request_bodies import StrictBody, parse_body
from origin.settings import Settings
from origin.state import get_state
from origin.web import read_json_object, shop_catalog

__all__ = ["CartEndpoint"]

LineId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PatchBody(StrictBody):
    line_id: LineId = Field(alias="lineId")
    quantity: Annotated[int, Field(ge=0, le=MAX_QUANTITY)]


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


async def _priced(session: AsyncSession, catalog: ShopCatalog, cart: Cart) -> dict[str, Any]:
    lines = await carts.lines_of(session, cart_id=cart.id)
    return render(
        shop=catalog.shop,
        cart_id=cart.id,
        revision=cart.revision,
        lines=lines,
        catalog=catalog.items,
    )


class CartEndpoint(HTTPEndpoint):
    async def get(self, request: Request) -> JSONResponse:
        state = get_state(request)
        async with state.sessions() as session, session.begin():
            catalog = await shop_catalog(request, session, state.catalog)
            shop = catalog.shop
            cart_id = requested_cart_id(request)
            if cart_id is None:
                empty = render(shop=shop, cart_id=None, revision=0, lines=[], catalog={})
                return JSONResponse(empty)
            cart = await carts.require_cart(session, shop_id=shop.id, cart_id=cart_id, now=utcnow())
            body = await _priced(session, catalog, cart)
        return JSONResponse(body)

    async def post(self, request: Request) -> JSONResponse:
        state = get_state(request)
        ttl = state.settings.cart_ttl_seconds
        await request.body()  # read before taking a connection
        async with state.sessions() as session, session.begin():
            catalog = await shop_catalog(request, session, state.catalog)
            shop = catalog.shop
            cart_id = requested_cart_id(request)
            line = parse_body(LineItemIn, await read_json_object(request)).resolve()
            items = known_items(catalog.items, [line])
            now = utcnow()
            cart = await carts.find_cart(
                session, shop_id=shop.id, cart_id=cart_id, now=now, lock=True
            )
            if cart is None:
                cart = await carts.create_cart(session, shop_id=shop.id, now=now, ttl_seconds=ttl)
            price_at_add = items[line.variant_key].price
            await carts.add_line(session, cart=cart, line=line, price_at_add=price_at_add, now=now)
            await carts.record_change(session, cart=cart, now=now, ttl_seconds=ttl)
            body = await _priced(session, catalog, cart)
        return _written(body, cart.id, state.settings)

    async def patch(self, request: Request) -> JSONResponse:
        state = get_state(request)
        await request.body()
        async with state.sessions() as session, session.begin():
            catalog = await shop_catalog(request, session, state.catalog)
            shop = catalog.shop
            cart_id = requested_cart_id(request)
            change = parse_body(PatchBody, await read_json_object(request))
            now = utcnow()
            cart = await carts.require_cart(
                session, shop_id=shop.id, cart_id=cart_id, now=now, lock=True
            )
            await carts.set_quantity(
                session, cart_id=cart.id, line_id=change.line_id, quantity=change.quantity
            )
            ttl = state.settings.cart_ttl_seconds
            await carts.record_change(session, cart=cart, now=now, ttl_seconds=ttl)
            body = await _priced(session, catalog, cart)
        return _written(body, cart.id, state.settings)

    async def delete(self, request: Request) -> JSONResponse:
        state = get_state(request)
        line_id = request.query_params.get("lineId")
        async with state.sessions() as session, session.begin():
            catalog = await shop_catalog(request, session, state.catalog)
            shop = catalog.shop
            cart_id = requested_cart_id(request)
            if line_id is not None and not 1 <= len(line_id) <= 64:
                raise BadRequest("lineId: must be 1 to 64 characters when given.")
            now = utcnow()
            cart = await carts.require_cart(
                session, shop_id=shop.id, cart_id=cart_id, now=now, lock=True
            )
            if line_id is None:
                await carts.clear(session, cart_id=cart.id)
            else:
                await carts.remove_line(session, cart_id=cart.id, line_id=line_id)
            ttl = state.settings.cart_ttl_seconds
            await carts.record_change(session, cart=cart, now=now, ttl_seconds=ttl)
            body = await _priced(session, catalog, cart)
        return _written(body, cart.id, state.settings)
