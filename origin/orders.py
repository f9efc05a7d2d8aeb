"""Orders: a paid checkout becomes exactly one order for the hold's shop.

``record_paid_order`` is called inside the webhook's transaction, after the event id was
claimed, so an order is written at most once per event and at most once per hold (unique
``orders.hold_id``). A paid order is never lost: when the stock could not be re-taken or the
paid amount differs from the repriced checkout, the order is still written and flagged
``needs_attention``, counted and logged with the event id.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from origin import carts
from origin.holds import commit_hold
from origin.metrics import OriginMetrics
from origin.models import Cart, CheckoutIntent, InventoryHold, Order, OrderLine

log = logging.getLogger("origin.orders")


def new_order_id() -> str:
    return "ord_" + uuid.uuid4().hex


async def order_for_hold(*, session: AsyncSession, hold_id: str) -> Order | None:
    return (
        await session.execute(select(Order).where(Order.hold_id == hold_id))
    ).scalar_one_or_none()


async def clear_cart(*, session: AsyncSession, hold: InventoryHold) -> bool:
    """Empty the cart the checkout came from (thank-you flow, COM-303); True if one was."""
    intent = await session.get(CheckoutIntent, hold.intent_id)
    if intent is None or intent.cart_id is None:
        return False
    cart = await session.get(Cart, intent.cart_id)
    if cart is None or cart.shop_id != hold.shop_id:
        return False
    await carts.clear(session, cart_id=cart.id)
    return True


async def record_paid_order(
    *,
    session: AsyncSession,
    hold: InventoryHold,
    stripe_session: dict[str, Any],
    event_id: str,
    metrics: OriginMetrics,
) -> Order:
    existing = await order_for_hold(session=session, hold_id=hold.id)
    if existing is not None:
        return existing

    outcome = await commit_hold(session=session, hold=hold, metrics=metrics)
    reasons: list[str] = []
    if outcome == "not_retaken":
        reasons.append("stock_not_retaken_after_expiry")
    paid_amount = stripe_session.get("amount_total")
    paid_currency = str(stripe_session.get("currency") or "").lower()
    if paid_amount != hold.amount_total or paid_currency != hold.currency:
        reasons.append("amount_mismatch")

    pricing = hold.pricing
    order = Order(
        id=new_order_id(),
        shop_id=hold.shop_id,
        hold_id=hold.id,
        stripe_session_id=str(stripe_session["id"]),
        stripe_event_id=event_id,
        currency=paid_currency or hold.currency,
        amount_total=int(paid_amount) if isinstance(paid_amount, int) else hold.amount_total,
        deposit_total=hold.deposit_total,
        rental_days=hold.rental_days,
        customer_email=_email(stripe_session),
        needs_attention=bool(reasons),
        attention_reason=",".join(reasons) or None,
    )
    session.add(order)
    await session.flush()
    for line in pricing.get("lines", []):
        session.add(
            OrderLine(
                order_id=order.id,
                sku=line["sku"],
                variant_key=line["variantKey"],
                title=line["title"],
                quantity=line["quantity"],
                unit_amount=line["unitPrice"],
                line_total=line["lineTotal"],
                deposit_amount=line.get("depositTotal", 0),
            )
        )
    hold.payment_status = "paid"
    await clear_cart(session=session, hold=hold)
    for reason in reasons:
        metrics.orders_flagged.labels(hold.shop_id, reason).inc()
    log.log(
        logging.WARNING if reasons else logging.INFO,
        "order recorded",
        extra={
            "shop": hold.shop_id,
            "orderId": order.id,
            "holdId": hold.id,
            "intent": hold.intent_id,
            "eventId": event_id,
            "needsAttention": reasons,
            "holdOutcome": outcome,
        },
    )
    return order


def _email(stripe_session: dict[str, Any]) -> str | None:
    details = stripe_session.get("customer_details") or {}
    email = stripe_session.get("customer_email") or details.get("email")
    return str(email) if email else None
