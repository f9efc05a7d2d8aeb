"""``GET /api/order-status?sessionId=…`` — what thank-you pages poll (docs/api.md §3.5).

The answer is read from the shop's own hold and order only: another shop's session is 404
exactly as an unknown one is. Reading has no side effects, so a page may poll (and a
customer revisit) as often as it likes.

The answer carries the checkout's repriced lines and deposit total so a thank-you page can
show the order; never the email or anything else that identifies the buyer (the session id
travels in URLs).
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from checkout_edge_shared.errors import NotFound
from origin.catalog.snapshot import load_quote
from origin.models import InventoryHold, Order

Status = Literal["pending", "paid", "expired", "failed"]


def order_status_of(hold: InventoryHold, order: Order | None) -> Status:
    """What a person waiting on the thank-you page should be told."""
    if order is not None:
        return "paid"
    if hold.payment_status == "failed":
        return "failed"
    if hold.payment_status == "expired" or hold.status in ("released", "expired"):
        return "expired"
    return "pending"  # not paid yet, or paid asynchronously and not settled yet


async def order_status(
    session: AsyncSession, *, shop_id: str, session_id: str
) -> dict[str, object]:
    """The answer for ``session_id`` of ``shop_id``; 404 ``SESSION_NOT_FOUND`` (also for
    another shop's session)."""
    hold = (
        await session.execute(
            select(InventoryHold).where(
                col(InventoryHold.shop_id) == shop_id,
                col(InventoryHold.stripe_session_id) == session_id,
            )
        )
    ).scalar_one_or_none()
    if hold is None:
        raise NotFound(f"No checkout session {session_id!r}.", code="SESSION_NOT_FOUND")
    order = (
        await session.execute(select(Order).where(col(Order.hold_id) == hold.id))
    ).scalar_one_or_none()
    body: dict[str, object] = {
        "sessionId": session_id,
        "status": order_status_of(hold, order),
        "amountTotal": order.amount_total if order is not None else hold.amount_total,
        "currency": order.currency if order is not None else hold.currency,
    }
    body["lines"] = checkout_lines(hold)
    body["depositTotal"] = hold.deposit_total
    if order is not None:
        body["orderId"] = order.id
    return body


def checkout_lines(hold: InventoryHold) -> list[dict[str, Any]]:
    """The repriced lines the hold charges, as a thank-you page shows them."""
    return [
        {
            "sku": line.sku,
            "title": line.title,
            "variantAttributes": dict(line.variant_attributes),
            "quantity": line.quantity,
            "lineTotal": line.line_total,
        }
        for line in load_quote(hold.pricing).lines
    ]
