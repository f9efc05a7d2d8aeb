"""``POST /api/stripe-webhook``: verify, resolve the tenant, deduplicate, dispatch.

1. The signature is checked over the raw bytes before anything is parsed (400
   ``INVALID_SIGNATURE``).
2. The shop comes from the object's ``metadata.shop_id``, else from the Stripe-object→shop
   map written when the session was created. Unresolvable → 503 ``TENANT_UNRESOLVABLE`` so
   Stripe retries; a request ``x-shop-id`` that differs → 403 ``TENANT_MISMATCH``.
3. The event id is claimed (``processed_stripe_events`` primary key) in the same transaction
   as the effects: a concurrent duplicate waits on that row and then finds it taken.
4. A handler from ``HANDLERS`` applies the effects; unknown types are logged and answered 200.

Hold state only moves forward: a late ``expired`` never undoes ``paid``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import JSONResponse

from origin.holds import end_hold
from origin.metrics import OriginMetrics
from origin.models import InventoryHold, ProcessedStripeEvent, Shop, StripeObjectShop
from origin.orders import record_paid_order
from origin.payments import InvalidSignature, verify_webhook
from origin.state import get_state
from origin.web import SHOP_HEADER
from shared.errors import BadRequest, Forbidden, Unavailable

log = logging.getLogger("origin.webhooks")


@dataclass(frozen=True)
class EventContext:
    event_id: str
    type: str
    obj: dict[str, Any]
    shop_id: str
    metrics: OriginMetrics


class _Duplicate(Exception):
    """The event id was already claimed by an earlier (or concurrent) delivery."""


Handler = Callable[[AsyncSession, EventContext], Awaitable[str]]


async def _hold_for(session: AsyncSession, ctx: EventContext) -> InventoryHold | None:
    """The hold behind a Checkout Session, scoped to the resolved shop.

    By session id first; by ``metadata.hold_id`` when the origin crashed before it recorded
    the session on the hold (the session exists at Stripe, our row doesn't know it yet).
    """
    hold = (
        await session.execute(
            select(InventoryHold).where(
                InventoryHold.shop_id == ctx.shop_id,
                InventoryHold.stripe_session_id == ctx.obj.get("id"),
            )
        )
    ).scalar_one_or_none()
    if hold is None:
        hold_id = (ctx.obj.get("metadata") or {}).get("hold_id")
        candidate = await session.get(InventoryHold, hold_id) if hold_id else None
        if candidate is not None and candidate.shop_id == ctx.shop_id:
            hold = candidate
            if hold.stripe_session_id is None:
                hold.stripe_session_id = ctx.obj.get("id")
    return hold


async def _paid(session: AsyncSession, ctx: EventContext) -> str:
    hold = await _hold_for(session, ctx)
    if hold is None:
        return "ignored_unknown_session"
    order = await record_paid_order(
        session=session,
        hold=hold,
        stripe_session=ctx.obj,
        event_id=ctx.event_id,
        metrics=ctx.metrics,
    )
    return "order_flagged" if order.needs_attention else "order_recorded"


async def _completed(session: AsyncSession, ctx: EventContext) -> str:
    if ctx.obj.get("payment_status") in ("paid", "no_payment_required"):
        return await _paid(session, ctx)
    hold = await _hold_for(session, ctx)
    if hold is None:
        return "ignored_unknown_session"
    if hold.payment_status == "pending":
        hold.payment_status = "unpaid"  # waits for the async payment events
    return "awaiting_async_payment"


async def _ended(session: AsyncSession, ctx: EventContext, *, status: str, reason: str) -> str:
    hold = await _hold_for(session, ctx)
    if hold is None:
        return "ignored_unknown_session"
    released = await end_hold(
        session=session, hold=hold, to="released", reason=reason, metrics=ctx.metrics
    )
    if hold.payment_status in ("pending", "unpaid"):
        hold.payment_status = status
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


async def _resolve_shop(session: AsyncSession, obj: dict[str, Any]) -> str | None:
    shop_id = (obj.get("metadata") or {}).get("shop_id")
    if not shop_id and obj.get("id"):
        mapped = await session.get(StripeObjectShop, str(obj["id"]))
        shop_id = mapped.shop_id if mapped is not None else None
    if shop_id and await session.get(Shop, str(shop_id)) is not None:
        return str(shop_id)
    return None


def _parse_event(raw: bytes) -> tuple[str, str, dict[str, Any]]:
    try:
        event = json.loads(raw)
        event_id, event_type = str(event["id"]), str(event["type"])
        obj = event["data"]["object"]
    except (ValueError, KeyError, TypeError):
        raise BadRequest("The webhook body is not a Stripe event.") from None
    if not isinstance(obj, dict) or not event_id:
        raise BadRequest("The webhook body is not a Stripe event.")
    return event_id, event_type, obj


async def stripe_webhook(request: Request) -> JSONResponse:
    state = get_state(request)
    metrics = state.metrics
    raw = await request.body()
    try:
        verify_webhook(raw, request.headers.get("stripe-signature"), state.settings.webhook_secrets)
    except InvalidSignature as exc:
        log.warning("webhook signature rejected", extra={"reason": str(exc)[:200]})
        raise BadRequest(
            "The Stripe-Signature header is missing, stale or does not match.",
            code="INVALID_SIGNATURE",
        ) from None
    event_id, event_type, obj = _parse_event(raw)
    fields = {"eventId": event_id, "eventType": event_type}

    async with state.sessions() as session:
        shop_id = await _resolve_shop(session, obj)
    if shop_id is None:
        metrics.webhook_tenant_unresolvable.inc()
        log.warning("webhook tenant unresolvable", extra=fields)
        raise Unavailable(
            "The event's shop could not be resolved yet; retry later.",
            code="TENANT_UNRESOLVABLE",
        )
    claimed_shop = request.headers.get(SHOP_HEADER)
    if state.settings.webhook_tenant_assertion_enabled and claimed_shop and claimed_shop != shop_id:
        metrics.webhook_tenant_mismatch.inc()
        log.warning(
            "webhook tenant mismatch",
            extra={**fields, "shop": shop_id, "claimedShop": claimed_shop},
        )
        raise Forbidden(
            "The event belongs to another shop than this request names.",
            code="TENANT_MISMATCH",
        )

    handler = HANDLERS.get(event_type)
    ctx = EventContext(event_id, event_type, obj, shop_id, metrics)
    try:
        async with state.sessions() as session, session.begin():
            session.add(
                ProcessedStripeEvent(
                    event_id=event_id, type=event_type, shop_id=shop_id, outcome="processing"
                )
            )
            try:
                # A concurrent duplicate blocks here until the first commits, then fails.
                await session.flush()
            except IntegrityError:
                raise _Duplicate from None
            outcome = await handler(session, ctx) if handler else "ignored_type"
            claimed = await session.get(ProcessedStripeEvent, event_id)
            assert claimed is not None
            claimed.outcome = outcome
    except _Duplicate:
        outcome = "duplicate"
    metrics.webhook_events.labels(event_type, outcome).inc()
    log.info("webhook processed", extra={**fields, "shop": shop_id, "outcome": outcome})
    return JSONResponse({"received": True})
