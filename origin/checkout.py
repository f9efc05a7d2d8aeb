"""``POST /api/checkout-session``: reprice, hold, create the Stripe session (CONTRACT §3.3).

Phases, never one long transaction (the Stripe-style idempotency-key design):

A. One short transaction claims the intent, reprices from the catalog and takes the stock
   (or finds the intent's hold). Concurrent retries of one intent queue on the active-hold
   unique index and converge on the winner's hold.
B. The Stripe call, with no transaction open and no row locked, under an idempotency key
   derived from the hold, so every retry of the hold asks Stripe for the same session.
C. One short transaction records the session on the hold and the session→shop map.

A crash or timeout between phases is recovered by the next retry of the same intent, which
finds the hold and resumes at B.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from pydantic import Field, StringConstraints
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from origin.carts import CartContents, checkout_contents
from origin.catalog.cache import ShopCatalog
from origin.catalog.line_items import LineItems, resolve_items
from origin.catalog.lookups import require_coupon, require_items
from origin.catalog.pricing import Baseline, DriftPolicy, price_changed_error, reprice
from origin.catalog.snapshot import dump_quote, load_quote
from origin.catalog.values import ShopProfile
from origin.intents import IntentKey, claim_intent, intent_key
from origin.inventory.hold_states import (
    end_hold,
    insert_hold,
    log_transition,
    new_hold_id,
)
from origin.inventory.routing import stock_lines_for
from origin.inventory.stock import InsufficientStock
from origin.models import InventoryHold, Shop, StripeObjectShop
from origin.models.types import utcnow
from origin.payments.session_params import checkout_session_params
from origin.payments.stripe_client import CheckoutSession, DefinitiveFailure, UnknownOutcome
from origin.reaper import reap_hold
from origin.request_bodies import StrictBody, parse_body
from origin.state import OriginState, get_state
from origin.web import read_json_object, resolve_shop
from shared.errors import AppError, BadRequest, Unavailable

log = logging.getLogger("origin.checkout")

IDEMPOTENCY_HEADER = "idempotency-key"
RETRY_AFTER_SECONDS = "2"
# Attempts of phase A when a concurrent request for the same intent wins a unique index.
CLAIM_ATTEMPTS = 5


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
    customer_email: (
        Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}$")] | None
    ) = Field(default=None, alias="customerEmail")


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


def _cart_id(request: Request, body: CheckoutRequest) -> str | None:
    return body.cart_id or request.cookies.get("cart_id") or request.headers.get("x-cart-id")


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
        cart_id = _cart_id(request, body) if body.items is None else None
        cart: CartContents | None = None
        if body.items is not None:
            lines = resolve_items(body.items)
        elif cart_id is not None:
            cart = await checkout_contents(session, shop_id=shop.id, cart_id=cart_id, now=utcnow())
            if not cart.lines:
                raise BadRequest("The cart is empty.", code="CART_EMPTY")
            lines = list(cart.lines)
        else:
            raise BadRequest("Send items, or a cartId (body, cart_id cookie or x-cart-id).")
        key = intent_key(
            shop_id=shop.id,
            idempotency_key=idempotency_key,
            cart_id=cart_id,
            lines=lines,
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
            cart_id=cart_id,
            customer_email=body.customer_email,
        )
        existing = await _latest_hold(session, shop.id, key.id)
        if existing is not None:
            if existing.status == "active" and existing.expires_at <= utcnow():
                return existing, shop, key
            metrics.hold_idempotent_hit.labels(shop.id).inc()
            log_transition(existing, "reused", idempotentHit=True)
            return HoldResult(existing, created=False), shop, key

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
            pricing={**dump_quote(quote), "customerEmail": body.customer_email},
        )
        try:
            await insert_hold(
                session=session,
                hold=hold,
                lines=await stock_lines_for(
                    session,
                    central=state.central,
                    catalog=await _shop_catalog(state, session, shop.id),
                    lines=lines,
                ),
                metrics=metrics,
                remote_pool=state.central.remote_pool,
            )
        except InsufficientStock:
            metrics.insufficient_stock.labels(shop.id, "checkout").inc()
            raise
        log_transition(hold, "active", amountTotal=hold.amount_total)
        return HoldResult(hold, created=True), shop, key


async def _shop_catalog(state: OriginState, session: AsyncSession, shop_id: str) -> ShopCatalog:
    catalog = await state.catalog.shop(session, shop_id)
    assert catalog is not None
    return catalog


async def _claim(
    state: OriginState, request: Request, body: CheckoutRequest, idempotency_key: str | None
) -> tuple[HoldResult, Shop]:
    for _ in range(CLAIM_ATTEMPTS):
        try:
            result, shop, _key = await _phase_a(state, request, body, idempotency_key)
        except IntegrityError:
            # A concurrent request of the same intent won the unique index; read its hold.
            continue
        if isinstance(result, HoldResult):
            return result, shop
        # The intent's hold ran out of time: expire it (Stripe first), then start afresh.
        await reap_hold(
            result,
            sessions=state.sessions,
            payments=state.payments,
            metrics=state.metrics,
            remote_pool=state.central.remote_pool,
            now=utcnow(),
        )
    raise Unavailable(
        "The checkout is busy with a concurrent request; retry shortly.",
        code="CHECKOUT_BUSY",
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


async def _record_session(
    state: OriginState, hold: InventoryHold, stripe_session: CheckoutSession
) -> None:
    """Phase C: the session on the hold (first writer wins) and the session→shop map."""
    async with state.sessions() as session, session.begin():
        await session.execute(
            update(InventoryHold)
            .where(
                col(InventoryHold.id) == hold.id,
                col(InventoryHold.stripe_session_id).is_(None),
            )
            .values(
                stripe_session_id=stripe_session.id,
                stripe_session_url=stripe_session.url,
                stripe_client_secret=stripe_session.client_secret,
                stripe_expires_at=stripe_session.expires_at,
                updated_at=utcnow(),
            )
        )
        if await session.get(StripeObjectShop, stripe_session.id) is None:
            session.add(
                StripeObjectShop(
                    object_id=stripe_session.id,
                    object_type="checkout.session",
                    shop_id=hold.shop_id,
                    hold_id=hold.id,
                )
            )
    hold.stripe_session_id = stripe_session.id
    hold.stripe_session_url = stripe_session.url
    hold.stripe_client_secret = stripe_session.client_secret
    log_transition(hold, "session recorded", sessionId=stripe_session.id)


async def _release_after_definitive_failure(state: OriginState, hold: InventoryHold) -> None:
    async with state.sessions() as session, session.begin():
        released = await end_hold(
            session=session,
            hold=hold,
            to="released",
            reason="stripe_definitive_failure",
            metrics=state.metrics,
            remote_pool=state.central.remote_pool,
        )
    if released:
        state.metrics.hold_orphaned.labels(hold.shop_id).inc()


async def _create_session(state: OriginState, hold: InventoryHold, shop: Shop) -> None:
    """Phase B (and C): no transaction is open while Stripe is called."""
    params = checkout_session_params(
        hold,
        load_quote(hold.pricing),
        ShopProfile.of(shop),
        customer_email=hold.pricing.get("customerEmail"),
    )
    try:
        stripe_session = await state.payments.create_checkout_session(
            params, idempotency_key=hold.stripe_idempotency_key
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
    await _record_session(state, hold, stripe_session)


def _answer(hold: InventoryHold, shop: Shop, *, created: bool) -> JSONResponse:
    body: dict[str, Any] = {
        "sessionId": hold.stripe_session_id,
        "inventoryReservationId": hold.id,
        "priceChanged": hold.price_changed,
        "amountTotal": hold.amount_total,
        "currency": hold.currency,
        "expiresAt": hold.expires_at.isoformat().replace("+00:00", "Z"),
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
