"""``POST /api/stripe-webhook``: verify, resolve the tenant, deduplicate, dispatch (docs/api.md
§3.4).

1. The signature is checked over the raw bytes before anything is parsed (400
   ``INVALID_SIGNATURE``); ``STRIPE_WEBHOOK_SECRET`` may hold several secrets (rotation).
   The timestamp must lie within 300 s of now, in both directions; a signed body that is
   not a usable Stripe event is a 400, never a 500 (:mod:`origin.orders.webhook_input`).
2. The shop comes from the object's ``metadata.shop_id``, else from the Stripe-object→shop
   map written when the session was created. Unresolvable → 503 ``TENANT_UNRESOLVABLE`` so
   Stripe retries (an event type nobody handles is answered 200 instead: retrying it for
   days would change nothing). A request ``x-shop-id`` that differs → 403 ``TENANT_MISMATCH``
   (with ``WEBHOOK_TENANT_ASSERTION_ENABLED=false``: counted and logged, not refused).
3. The event id is claimed (``processed_stripe_events`` primary key) in the same transaction
   as the effects: a concurrent duplicate waits on that row and then finds it taken; a failed
   attempt rolls its claim back, so Stripe's retry still takes effect.
4. A handler from ``HANDLERS`` applies the effects under a row lock on the hold, so events of
   one session (and the reaper) take turns however they are delivered.

Hold state only moves forward: a late ``expired`` never undoes ``paid`` (see
:data:`PAYMENT_PROGRESS`). ``webhook_events_total{type, outcome}`` counts every event that
passed the signature check as ``processed``, ``duplicate`` or ``ignored``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from starlette.requests import Request
from starlette.responses import JSONResponse

from checkout_edge_shared.errors import Forbidden, Unavailable
from origin.inventory.hold_states import SeparateCentralPool, end_hold
from origin.metrics import OriginMetrics
from origin.models import InventoryHold, ProcessedStripeEvent, Shop, StripeObjectShop
from origin.orders.paid_orders import record_paid_order
from origin.orders.webhook_input import StripeEvent, parse_event, verify_signature
from origin.state import OriginState, get_state
from origin.web import SHOP_HEADER

log = logging.getLogger("origin.webhooks")

Outcome = Literal["processed", "duplicate", "ignored"]

# A hold's payment status only ever moves up this scale: paid beats everything, a failed
# async payment is not turned into "expired" by the session's later expiry, and "unpaid"
# (waiting for an async payment) never goes back to "pending".
PAYMENT_PROGRESS = {"pending": 0, "unpaid": 1, "expired": 2, "failed": 3, "paid": 4}

# A handler's result that means "nothing of ours": the event is counted as ignored.
UNKNOWN_SESSION = "unknown_session"


@dataclass(frozen=True, slots=True)
class EventContext:
    event: StripeEvent
    shop_id: str
    metrics: OriginMetrics
    # The central pool's own database, when it has one (holds moved here queue follow-ups).
    remote_pool: SeparateCentralPool | None


class _Duplicate(Exception):
    """The event id was already claimed by an earlier (or concurrent) delivery."""


Handler = Callable[[AsyncSession, EventContext], Awaitable[str]]


def advance_payment_status(hold: InventoryHold, status: str) -> None:
    """Record what Stripe said about the payment, unless the hold already knows better."""
    if PAYMENT_PROGRESS[status] > PAYMENT_PROGRESS.get(hold.payment_status, 0):
        hold.payment_status = status


async def _locked_hold(session: AsyncSession, ctx: EventContext) -> InventoryHold | None:
    """The hold behind a Checkout Session, scoped to the resolved shop, locked for this event.

    By session id first; by ``metadata.hold_id`` when the origin crashed before it recorded
    the session on the hold (the session exists at Stripe, our row doesn't know it yet).
    The lock is taken before any stock row is touched, the order every other writer of
    holds uses (checkout, reaper).
    """
    session_id = ctx.event.obj.get("id")
    if not isinstance(session_id, str) or not session_id:
        return None  # (== None would be IS NULL: any hold still waiting for its session)
    query = select(InventoryHold).where(col(InventoryHold.shop_id) == ctx.shop_id)
    hold = (
        await session.execute(
            query.where(col(InventoryHold.stripe_session_id) == session_id).with_for_update()
        )
    ).scalar_one_or_none()
    hold_id = _metadata(ctx.event.obj).get("hold_id")
    if hold is None and isinstance(hold_id, str):
        hold = (
            await session.execute(query.where(col(InventoryHold.id) == hold_id).with_for_update())
        ).scalar_one_or_none()
        if hold is not None and hold.stripe_session_id is None:
            hold.stripe_session_id = session_id
            await session.flush()
    return hold


async def _paid(session: AsyncSession, ctx: EventContext) -> str:
    hold = await _locked_hold(session, ctx)
    if hold is None:
        return UNKNOWN_SESSION
    order = await record_paid_order(
        session=session,
        hold=hold,
        stripe_session=ctx.event.obj,
        event_id=ctx.event.id,
        metrics=ctx.metrics,
        remote_pool=ctx.remote_pool,
    )
    if order.stripe_event_id != ctx.event.id:
        return "order_exists"
    return "order_flagged" if order.needs_attention else "order_recorded"


async def _completed(session: AsyncSession, ctx: EventContext) -> str:
    if ctx.event.obj.get("payment_status") in ("paid", "no_payment_required"):
        return await _paid(session, ctx)
    hold = await _locked_hold(session, ctx)
    if hold is None:
        return UNKNOWN_SESSION
    advance_payment_status(hold, "unpaid")  # waits for the async payment events
    return "awaiting_async_payment"


async def _ended(session: AsyncSession, ctx: EventContext, *, status: str, reason: str) -> str:
    hold = await _locked_hold(session, ctx)
    if hold is None:
        return UNKNOWN_SESSION
    released = await end_hold(
        session=session,
        hold=hold,
        to="released",
        reason=reason,
        metrics=ctx.metrics,
        remote_pool=ctx.remote_pool,
    )
    advance_payment_status(hold, status)
    return "hold_released" if released else "no_change"


async def _expired(session: AsyncSession, ctx: EventContext) -> str:
    return await _ended(session, ctx, status="expired", reason="session_expired")


async def _async_failed(session: AsyncSession, ctx: EventContext) -> str:
    return await _ended(session, ctx, status="failed", reason="async_payment_failed")


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _completed,
    "checkout.session.async_payment_succeeded": _paid,
    "checkout.session.expired": _expired,
    "checkout.session.async_payment_failed": _async_failed,
}


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


async def _resolve_shop(state: OriginState, obj: dict[str, Any]) -> str | None:
    """``metadata.shop_id``, else the session→shop map; only a shop that exists counts."""
    async with state.sessions() as session:
        shop_id = _metadata(obj).get("shop_id")
        if not shop_id and isinstance(obj.get("id"), str):
            mapped = await session.get(StripeObjectShop, obj["id"])
            shop_id = mapped.shop_id if mapped is not None else None
        if isinstance(shop_id, str) and await session.get(Shop, shop_id) is not None:
            return shop_id
    return None


def _assert_tenant(
    state: OriginState, request: Request, shop_id: str, fields: dict[str, str]
) -> None:
    claimed = request.headers.get(SHOP_HEADER)
    if not claimed or claimed == shop_id:
        return
    enforced = state.settings.webhook_tenant_assertion_enabled
    state.metrics.webhook_tenant_mismatch.inc()
    log.warning(
        "webhook tenant mismatch",
        extra={**fields, "shop": shop_id, "claimedShop": claimed, "enforced": enforced},
    )
    if enforced:
        raise Forbidden(
            "The event belongs to another shop than this request names.",
            code="TENANT_MISMATCH",
        )


async def _apply(state: OriginState, handler: Handler, ctx: EventContext) -> tuple[Outcome, str]:
    """Claim the event id and apply the handler in one transaction."""
    try:
        async with state.sessions() as session, session.begin():
            claim = ProcessedStripeEvent(
                event_id=ctx.event.id, type=ctx.event.type, shop_id=ctx.shop_id, outcome="claimed"
            )
            session.add(claim)
            try:
                # A concurrent duplicate blocks here until the first commits, then fails.
                await session.flush()
            except IntegrityError:
                raise _Duplicate from None
            result = await handler(session, ctx)
            claim.outcome = result
    except _Duplicate:
        return "duplicate", "duplicate"
    return ("ignored" if result == UNKNOWN_SESSION else "processed"), result


async def stripe_webhook(request: Request) -> JSONResponse:
    state = get_state(request)
    metrics = state.metrics
    raw = await request.body()
    verify_signature(raw, request.headers.get("stripe-signature"), state.settings.webhook_secrets)
    event = parse_event(raw)
    fields = {"eventId": event.id, "eventType": event.type}
    handler = HANDLERS.get(event.type)

    shop_id = await _resolve_shop(state, event.obj)
    if shop_id is None and handler is not None:
        metrics.webhook_tenant_unresolvable.inc()
        log.warning("webhook tenant unresolvable", extra=fields)
        raise Unavailable(
            "The event's shop could not be resolved yet; retry later.",
            code="TENANT_UNRESOLVABLE",
        )
    if shop_id is not None:
        _assert_tenant(state, request, shop_id, fields)

    outcome: Outcome
    if handler is None or shop_id is None:
        outcome, result = "ignored", "unhandled_type"
    else:
        outcome, result = await _apply(
            state, handler, EventContext(event, shop_id, metrics, state.central.remote_pool)
        )
    metrics.webhook_events.labels(event.type, outcome).inc()
    log.info(
        "webhook %s",
        outcome,
        extra={**fields, "shop": shop_id, "outcome": outcome, "result": result},
    )
    return JSONResponse({"received": True})
