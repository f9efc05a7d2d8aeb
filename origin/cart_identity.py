"""Which cart a request names — one rule for every route (docs/checkout.md, "Which cart").

A cart can be named three ways: the ``cart_id`` cookie the origin sets, the ``x-cart-id``
header, and (checkout only) the body's ``cartId``. When more than one is present they must
agree; otherwise the answer is 400 ``CART_ID_CONFLICT`` and nothing is read or written.
There is no precedence: a silent choice once let the cart API show one cart while checkout
charged another. An empty value counts as absent.
"""

from __future__ import annotations

from starlette.requests import Request

from shared.errors import BadRequest

__all__ = ["CART_COOKIE", "CART_HEADER", "requested_cart_id"]

CART_COOKIE = "cart_id"
CART_HEADER = "x-cart-id"


def requested_cart_id(request: Request, body_cart_id: str | None = None) -> str | None:
    """The one cart id the request names, None when it names none; 400 when they differ."""
    named = {
        source: value
        for source, value in (
            ("cookie", request.cookies.get(CART_COOKIE)),
            ("header", request.headers.get(CART_HEADER)),
            ("body", body_cart_id),
        )
        if value
    }
    if len(set(named.values())) > 1:
        raise BadRequest(
            "The request names different carts ("
            + ", ".join(sorted(named))
            + "); send one cart id, or the same one everywhere.",
            code="CART_ID_CONFLICT",
        )
    return next(iter(named.values()), None)
