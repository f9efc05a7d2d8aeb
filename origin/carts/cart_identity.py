"""Which cart a request names — one rule for every route (docs/checkout.md, "Which cart").

A cart can be named three ways: the ``cart_id`` cookie the origin sets, the ``x-cart-id``
header, and (checkout only) the body's ``cartId``. When more than one is present they must
agree; otherwise the answer is 400 ``CART_ID_CONFLICT`` and nothing is read or written.
There is no precedence: a silent choice once let the cart API show one cart while checkout
charged another. An empty value counts as absent.
"""

from __future__ import annotations

from typing import NamedTuple

from starlette.requests import Request

from checkout_edge_shared.errors import BadRequest

__all__ = ["CART_COOKIE", "CART_HEADER", "CartIds", "one_cart_id", "requested_cart_id"]

CART_COOKIE = "cart_id"
CART_HEADER = "x-cart-id"


class CartIds(NamedTuple):
    """Every way a request named a cart, as sent."""

    cookie: str | None
    header: str | None
    body: str | None

    @classmethod
    def of(cls, request: Request, body_cart_id: str | None = None) -> CartIds:
        return cls(request.cookies.get(CART_COOKIE), request.headers.get(CART_HEADER), body_cart_id)


def requested_cart_id(request: Request, body_cart_id: str | None = None) -> str | None:
    """The one cart id the request names, None when it names none; 400 when they differ."""
    return one_cart_id(CartIds.of(request, body_cart_id))


def one_cart_id(ids: CartIds) -> str | None:
    """The one cart id of ``ids``, None when there is none; 400 ``CART_ID_CONFLICT``."""
    named = {source: value for source, value in ids._asdict().items() if value}
    if len(set(named.values())) > 1:
        raise BadRequest(
            "The request names different carts ("
            + ", ".join(sorted(named))
            + "); send one cart id, or the same one everywhere.",
            code="CART_ID_CONFLICT",
        )
    return next(iter(named.values()), None)
