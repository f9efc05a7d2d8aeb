"""``POST /api/checkout-session`` (and its alias): the request parsed into a typed command,
the domain's outcome rendered as the contract's answer (docs/checkout.md).

The route checks the body's shape and the ``Idempotency-Key`` bounds; the domain
(:func:`origin.checkout.flow.checkout`) then answers an unknown shop before it applies the
one cart-id rule (:mod:`origin.carts.cart_identity`) or resolves the items.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationInfo, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse

from checkout_edge_shared.errors import AppError, BadRequest
from origin.carts.cart_identity import CartIds
from origin.catalog.line_items import LineItems
from origin.checkout.commands import CheckoutCommand, CheckoutDeps, CheckoutOutcome
from origin.checkout.flow import checkout
from origin.request_bodies import StrictBody, parse_body
from origin.state import OriginState, get_state
from origin.web import SHOP_HEADER, read_json_object, shop_catalog

IDEMPOTENCY_HEADER = "idempotency-key"
_EMAIL_LABEL = r"[^@\s\x00-\x1f\x7f.]{1,63}"
EMAIL_PATTERN = rf"^[^@\s\x00-\x1f\x7f]{{1,64}}@{_EMAIL_LABEL}(?:\.{_EMAIL_LABEL}){{1,8}}$"


class CheckoutRequest(StrictBody):
    cart_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, alias="cartId"
    )
    items: LineItems | None = None
    expected_total: Annotated[int, Field(ge=0, le=10**12)] | None = Field(
        default=None, alias="expectedTotal"
    )
    coupon_code: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = Field(
        default=None, alias="couponCode"
    )
    rental_days: int | None = Field(default=None, alias="rentalDays")
    # What Stripe accepts as customer_email (a dotted domain, no control characters): an
    # address it would refuse must be a 400 here, not a released hold and a 502 after it.
    customer_email: Annotated[str, StringConstraints(pattern=EMAIL_PATTERN)] | None = Field(
        default=None, alias="customerEmail"
    )

    @field_validator("items")
    @classmethod
    def _items_or_cart(cls, items: LineItems | None, info: ValidationInfo) -> LineItems | None:
        # Both would be a silent choice of one basket over the other.
        if items is not None and info.data.get("cart_id") is not None:
            raise ValueError("send either cartId or items, not both")
        return items


def _idempotency_key(request: Request) -> str | None:
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    if not 1 <= len(value) <= 255:
        raise BadRequest("Idempotency-Key must be 1 to 255 characters.")
    return value


def _command(request: Request, body: CheckoutRequest) -> CheckoutCommand:
    return CheckoutCommand(
        shop_id=request.headers.get(SHOP_HEADER, ""),
        idempotency_key=_idempotency_key(request),
        cart_ids=CartIds.of(request, body.cart_id),
        items=tuple(body.items) if body.items is not None else None,
        expected_total=body.expected_total,
        coupon_code=body.coupon_code,
        rental_days=body.rental_days,
        customer_email=body.customer_email,
    )


def deps_of(state: OriginState) -> CheckoutDeps:
    return CheckoutDeps(
        settings=state.settings,
        metrics=state.metrics,
        engine=state.engine,
        sessions=state.sessions,
        payments=state.payments,
        central=state.central,
        catalog=state.catalog,
    )


def _answer(outcome: CheckoutOutcome) -> JSONResponse:
    hold = outcome.hold
    body: dict[str, Any] = {
        "sessionId": hold.stripe_session_id,
        "inventoryReservationId": hold.id,
        "priceChanged": hold.price_changed,
        "amountTotal": hold.amount_total,
        "currency": hold.currency,
        "expiresAt": hold.expires_at.isoformat().replace("+00:00", "Z"),
        # A paid checkout is only ever returned to a retry of its own intent; it holds nothing.
        "status": "paid" if hold.status == "committed" else "open",
    }
    if outcome.shop.checkout_mode == "custom":
        body["clientSecret"] = hold.stripe_client_secret
    else:
        body["url"] = hold.stripe_session_url
    return JSONResponse(body, status_code=201 if outcome.created else 200)


async def checkout_session(request: Request) -> JSONResponse:
    state = get_state(request)
    shop_id = request.headers.get(SHOP_HEADER, "")
    if not state.catalog.knows(shop_id):
        # An unknown shop is 404 before the body is even parsed; a cached shop exists.
        async with state.sessions() as session, session.begin():
            await shop_catalog(request, session, state.catalog)
    body = parse_body(CheckoutRequest, await read_json_object(request))
    command = _command(request, body)
    try:
        outcome = await checkout(command, deps_of(state))
    except AppError as error:
        # The domain looks the shop up first: any other answer means it exists, and the
        # per-shop request metric may carry its id (as shop_catalog does for other routes).
        if error.code != "SHOP_NOT_FOUND":
            request.state.shop_id = command.shop_id
        raise
    request.state.shop_id = command.shop_id
    return _answer(outcome)
