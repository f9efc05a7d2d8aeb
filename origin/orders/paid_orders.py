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

from origin.carts import cart_store as carts
from origin.catalog.snapshot import load_quote
from origin.inventory.hold_states import CommitOutcome, SeparateCentralPool, commit_hold
from origin.metrics import OriginMetrics
from origin.models import CheckoutIntent, InventoryHold, Order, OrderLine
from origin.models.types import utcnow

log = logging.getLogger("origin.orders")


def new_order_id() -> str:
    return "ord_" + uuid.uuid4().hex


async def order_for_hold(*, session: AsyncSession, hold_id: str) -> Order | None:
    return (
        await session.execute(select(Order).where(Order.hold_id == hold_id))
    ).scalar_one_or_none()


async def clear_cart(
    *, session: AsyncSession, hold: InventoryHold, intent: CheckoutIntent | None
) -> bool:
    """Empty the cart the checkout came from (thank-you flow, COM-303); True if one was.

    The cart row is locked like every other cart writer does, so a concurrent add either
    lands before the clear (and is cleared with the rest) or after it (and stays).
    """
    if intent is None or intent.cart_id is None:
        return False
    cart = await carts.find_cart(
        session, shop_id=hold.shop_id, cart_id=intent.cart_id, now=utcnow(), lock=True
    )
    if cart is None:
        return False
    await carts.clear(session, cart_id=cart.id)
    # A new revision: the same cart re-filled is a new keyless checkout, never this paid one.
    await carts.record_change(session, cart=cart, now=utcnow(), ttl_seconds=None)
    return True


def _paid_amount(stripe_session: dict[str, Any]) -> int | None:
    amount = stripe_session.get("amount_total")
    return amount if isinstance(amount, int) and not isinstance(amount, bool) else None


def _currency(stripe_session: dict[str, Any]) -> str:
    return str(stripe_session.get("currency") or "").lower()


def _attention_reasons(
    hold: InventoryHold, stripe_session: dict[str, Any], hold_outcome: CommitOutcome
) -> list[str]:
    reasons: list[str] = []
    if hold_outcome == "not_retaken":
        reasons.append("stock_not_retaken_after_expiry")
    if (
        _paid_amount(stripe_session) != hold.amount_total
        or _currency(stripe_session) != hold.currency.lower()
    ):
        reasons.append("amount_mismatch")
    return reasons


async def record_paid_order(
    *,
    session: AsyncSession,
    hold: InventoryHold,
    stripe_session: dict[str, Any],
    event_id: str,
    metrics: OriginMetrics,
    remote_pool: SeparateCentralPool | None,
) -> Order:
    """The hold's order, written now unless it exists; the caller holds the hold's row lock."""
    existing = await order_for_hold(session=session, hold_id=hold.id)
    if existing is not None:
        if existing.stripe_session_id != stripe_session.get("id"):
            # Another session of the same hold was paid too: money without an order of its own.
            reasons = ["second_payment_for_hold"]
            _flag(existing, reasons[0])
            _report("order flagged", existing, hold, event_id, reasons, metrics)
        return existing

    outcome = await commit_hold(
        session=session, hold=hold, metrics=metrics, remote_pool=remote_pool
    )
    reasons = _attention_reasons(hold, stripe_session, outcome)
    intent = await session.get(CheckoutIntent, hold.intent_id)
    paid_amount = _paid_amount(stripe_session)
    order = Order(
        id=new_order_id(),
        shop_id=hold.shop_id,
        hold_id=hold.id,
        stripe_session_id=str(stripe_session["id"]),
        stripe_event_id=event_id,
        # What was charged, even when it differs from the checkout (then flagged).
        currency=_currency(stripe_session) or hold.currency,
        amount_total=hold.amount_total if paid_amount is None else paid_amount,
        deposit_total=hold.deposit_total,
        rental_days=hold.rental_days,
        customer_email=_email(stripe_session, hold, intent),
        needs_attention=bool(reasons),
        attention_reason=",".join(reasons) or None,
    )
    session.add(order)
    await session.flush()
    for line in load_quote(hold.pricing).lines:
        session.add(
            OrderLine(
                order_id=order.id,
                sku=line.sku,
                variant_key=line.variant_key,
                title=line.title,
                quantity=line.quantity,
                unit_amount=line.unit_price,
                line_total=line.line_total,
                deposit_amount=line.deposit_total,
            )
        )
    hold.payment_status = "paid"
    await clear_cart(session=session, hold=hold, intent=intent)
    _report("order recorded", order, hold, event_id, reasons, metrics, holdOutcome=outcome)
    return order


def _flag(order: Order, reason: str) -> None:
    reasons = [r for r in (order.attention_reason or "").split(",") if r]
    if reason not in reasons:
        reasons.append(reason)
    order.needs_attention = True
    order.attention_reason = ",".join(reasons)[:255]


def _report(
    message: str,
    order: Order,
    hold: InventoryHold,
    event_id: str,
    reasons: list[str],
    metrics: OriginMetrics,
    **fields: Any,
) -> None:
    """Every flag is counted and logged with the event id that raised it."""
    for reason in reasons:
        metrics.orders_flagged.labels(hold.shop_id, reason).inc()
    log.log(
        logging.WARNING if reasons else logging.INFO,
        message,
        extra={
            "shop": hold.shop_id,
            "orderId": order.id,
            "holdId": hold.id,
            "intent": hold.intent_id,
            "eventId": event_id,
            "needsAttention": reasons,
            **fields,
        },
    )


def _email(
    stripe_session: dict[str, Any], hold: InventoryHold, intent: CheckoutIntent | None
) -> str | None:
    """What the customer confirmed at Stripe, else what the checkout was given."""
    details = stripe_session.get("customer_details")
    candidates = (
        details.get("email") if isinstance(details, dict) else None,
        stripe_session.get("customer_email"),
        intent.customer_email if intent is not None else None,
    )
    email = next((c for c in candidates if isinstance(c, str) and c), None)
    return email[:320] if email else None
