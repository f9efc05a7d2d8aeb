"""``POST /api/checkout-session``: reprice, hold, create the Stripe session (CONTRACT §3.3).

Phases, never one long transaction (the Stripe-style idempotency-key design):

A. One short transaction claims the intent, reprices from the catalog and takes the stock
   (or finds the intent's hold). Concurrent retries of one intent queue on the active-hold
   unique index and converge on the winner's hold.
B. The Stripe call, with no transaction open and no row locked, under an idempotency key
   derived from the hold, so every retry of the hold asks Stripe for the same session.
C. One short transaction records the session on the hold and the session→shop map
   (:mod:`origin.hold_sessions`).

Which requests are one checkout is :mod:`origin.intents`' rule (always one buyer's); which
cart a request names is :mod:`origin.cart_identity`'s.

A crash or timeout between phases is recovered by the next retry of the same intent, which
finds the hold and resumes at B.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import Field, StringConstraints
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from origin.cart_identity import requested_cart_id
from origin.carts import CartContents, checkout_contents
from origin.catalog import require_coupon, require_items
from origin.hold_sessions import record_session, session_params
from origin.holds import (
    InsufficientStock,
    end_hold,
    insert_hold,
    log_transition,
    new_hold_id,
)
from origin.intents import CartRef, IntentKey, claim_intent, intent_key
from origin.line_items import LineItems, resolve_items
from origin.models import InventoryHold, Shop
from origin.models.types import utcnow
from origin.payments import DefinitiveFailure, UnknownOutcome
from origin.pricing import Baseline, DriftPolicy, price_changed_error, reprice
from origin.reaper import reap_hold
from origin.request_bodies import StrictBody, parse_body
from origin.state import OriginState, get_state
from origin.stock_routing import stock_lines_for
from origin.web import read_json_object, resolve_shop
from shared.errors import AppError, BadRequest, Unavailable

log = logging.getLogger("origin.checkout")

IDEMPOTENCY_HEADER = "idempotency-key"
RETRY_AFTER_SECONDS = "2"
# Attempts of phase A when a concurrent request for the same intent wins a unique index.
CLAIM_ATTEMPTS = 5
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


@dataclass
class HoldResult:
    hold: InventoryHold
    created: bool


def _idempotency_key(request: Request) -> str | None:
    value = request.headers.get(IDEMPOTENCY_HEADER)
    if value is None:
        return None
    if not 1 <= len(value) <= 255:
        raise BadRequest("Idempotency-Key must be 1 to 255 characters.")
    return value


async def _latest_hold(session: AsyncSession, shop_id: str, intent_id: str) -> InventoryHold | None:
    """The intent's active hold, else its committed one (a paid intent stays paid)."""
    query = (
        select(InventoryHold)
        .where(
            col(InventoryHold.shop_id) == shop_id,
            col(InventoryHold.intent_id) == intent_id,
            col(InventoryHold.status).in_(("active", "committed")),
        )
        .order_by(col(InventoryHold.created_at).desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def _phase_a(
    state: OriginState,
    request: Request,
    body: CheckoutRequest,
    idempotency_key: str | None,
) -> tuple[HoldResult | InventoryHold, Shop, IntentKey]:
    """Claim the intent and take the stock; returns an expired hold to reap when found."""
    settings, metrics = state.settings, state.metrics
    async with state.sessions() as session, session.begin():
        shop = await resolve_shop(request, session)
        cart_id = requested_cart_id(request, body.cart_id)
        cart: CartContents | None = None
        items = resolve_items(body.items) if body.items is not None else None
        if items is None:
            if cart_id is None:
                raise BadRequest("Send items, or a cartId (body, cart_id cookie or x-cart-id).")
            cart = await checkout_contents(session, shop_id=shop.id, cart_id=cart_id, now=utcnow())
        key = intent_key(
            shop_id=shop.id,
            idempotency_key=idempotency_key,
            cart=CartRef(cart.cart_id, cart.revision) if cart is not None else None,
            items=items,
            coupon_code=body.coupon_code,
            rental_days=body.rental_days,
            expected_total=body.expected_total,
            customer_email=body.customer_email,
            idempotent_holds=settings.enable_idempotent_holds,
        )
        await claim_intent(
            session=session,
            shop_id=shop.id,
            key=key,
            cart_id=cart.cart_id if cart is not None else None,
            customer_email=body.customer_email,
        )
        existing = await _latest_hold(session, shop.id, key.id)
        if existing is not None:
            if existing.status == "active" and existing.expires_at <= utcnow():
                return existing, shop, key
            metrics.hold_idempotent_hit.labels(shop.id).inc()
            log_transition(existing, "reused", idempotentHit=True)
            return HoldResult(existing, created=False), shop, key
        # Only now: a paid checkout's retry finds its hold even though its cart was emptied.
        if items is not None:
            lines = items
        elif cart is not None and cart.lines:
            lines = list(cart.lines)
        else:
            raise BadRequest("The cart is empty.", code="CART_EMPTY")

        catalog = await require_items(session, shop_id=shop.id, lines=lines)
        coupon = (
            await require_coupon(session, shop_id=shop.id, code=body.coupon_code)
            if body.coupon_code
            else None
        )
        repriced = reprice(
            shop=shop,
            lines=lines,
            catalog=catalog,
            policy=DriftPolicy.from_settings(settings),
            coupon=coupon,
            rental_days=body.rental_days,
            baseline=Baseline.choose(
                expected_total=body.expected_total,
                price_at_add_total=cart.price_at_add_total if cart is not None else None,
            ),
        )
        if repriced.drift.count_metric:
            metrics.reprice_drift.labels(shop.id, settings.checkout_reprice_policy).inc()
        if repriced.drift.reject:
            raise price_changed_error(repriced)
        quote = repriced.quote
        hold_id = new_hold_id()
        now = utcnow()
        hold = InventoryHold(
            id=hold_id,
            shop_id=shop.id,
            intent_id=key.id,
            status="active",
            active_key=key.id,
            stripe_idempotency_key=f"checkout-edge-{hold_id}",
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(seconds=settings.inventory_hold_ttl_seconds),
            currency=quote.currency,
            amount_total=quote.total,
            deposit_total=quote.deposit_total,
            rental_days=quote.rental_days,
            price_changed=repriced.drift.price_changed,
            # The email is part of the snapshot so that a resumed Stripe call sends exactly
            # the parameters of the first one.
            pricing={**quote.to_json(), "customerEmail": body.customer_email},
        )
        try:
            await insert_hold(
                session=session,
                hold=hold,
                lines=await stock_lines_for(session, shop=shop, lines=lines, catalog=catalog),
                metrics=metrics,
            )
        except InsufficientStock:
            metrics.insufficient_stock.labels(shop.id, "checkout").inc()
            raise
        log_transition(hold, "active", amountTotal=hold.amount_total)
        return HoldResult(hold, created=True), shop, key


async def _claim(
    state: OriginState, request: Request, body: CheckoutRequest, idempotency_key: str | None
) -> tuple[HoldResult, Shop]:
    unsettled: str | None = None
    for _ in range(CLAIM_ATTEMPTS):
        try:
            result, shop, _key = await _phase_a(state, request, body, idempotency_key)
        except IntegrityError:
            # A concurrent request of the same intent won the unique index; read its hold.
            continue
        if isinstance(result, HoldResult):
            return result, shop
        if result.id == unsettled:
            # Stripe could not settle the old session (or it is being paid): one Stripe round
            # per request, not one per attempt, so the answer comes before the gateway's timeout.
            raise Unavailable(
                "The previous checkout of this attempt is still open at the payment provider; "
                "retry shortly.",
                code="PAYMENT_PROVIDER_UNAVAILABLE",
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        # The intent's hold ran out of time: expire it (Stripe first), then start afresh.
        reaped = await reap_hold(
            result,
            sessions=state.sessions,
            payments=state.payments,
            metrics=state.metrics,
            now=utcnow(),
        )
        unsettled = None if reaped else result.id
    raise Unavailable(
        "The checkout is busy with a concurrent request; retry shortly.",
        code="CHECKOUT_BUSY",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


async def _release_after_definitive_failure(state: OriginState, hold: InventoryHold) -> None:
    async with state.sessions() as session, session.begin():
        released = await end_hold(
            session=session,
            hold=hold,
            to="released",
            reason="stripe_definitive_failure",
            metrics=state.metrics,
        )
    if released:
        state.metrics.hold_orphaned.labels(hold.shop_id).inc()


async def _create_session(state: OriginState, hold: InventoryHold, shop: Shop) -> None:
    """Phase B (and C): no transaction is open while Stripe is called."""
    try:
        stripe_session = await state.payments.create_checkout_session(
            session_params(hold, shop), idempotency_key=hold.stripe_idempotency_key
        )
    except DefinitiveFailure as failure:
        state.metrics.stripe_classification.labels("definitive").inc()
        if state.settings.enable_stripe_error_classification:
            await _release_after_definitive_failure(state, hold)
        raise AppError(
            "The payment provider refused to start this checkout.",
            code="PAYMENT_PROVIDER_ERROR",
            status=502,
            extra={"classification": failure.classification},
        ) from failure
    except UnknownOutcome as failure:
        state.metrics.stripe_classification.labels("unknown").inc()
        log_transition(
            hold, "kept after unknown Stripe outcome", classification=failure.classification
        )
        raise Unavailable(
            "The payment provider did not answer clearly; your items are held. Retry the "
            "same request shortly.",
            code="PAYMENT_PROVIDER_UNAVAILABLE",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        ) from failure
    await record_session(state.sessions, hold, stripe_session)


def _answer(hold: InventoryHold, shop: Shop, *, created: bool) -> JSONResponse:
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
    if shop.checkout_mode == "custom":
        body["clientSecret"] = hold.stripe_client_secret
    else:
        body["url"] = hold.stripe_session_url
    return JSONResponse(body, status_code=201 if created else 200)


async def checkout_session(request: Request) -> JSONResponse:
    state = get_state(request)
    body = parse_body(CheckoutRequest, await read_json_object(request))
    result, shop = await _claim(state, request, body, _idempotency_key(request))
    if result.hold.stripe_session_id is None:
        await _create_session(state, result.hold, shop)
    return _answer(result.hold, shop, created=result.created)
