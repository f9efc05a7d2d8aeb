"""``GET /api/order-status?sessionId=…`` — what thank-you pages poll (CONTRACT §3.5)."""

from __future__ import annotations

from sqlmodel import select
from starlette.requests import Request
from starlette.responses import JSONResponse

from origin.models import InventoryHold, Order
from origin.state import get_state
from origin.web import resolve_shop
from shared.errors import BadRequest, NotFound

# What the hold's last known payment status means for a person waiting on the page.
_STATUS = {"paid": "paid", "expired": "expired", "failed": "failed"}


async def order_status(request: Request) -> JSONResponse:
    state = get_state(request)
    session_id = request.query_params.get("sessionId", "")
    async with state.sessions() as session, session.begin():
        shop = await resolve_shop(request, session)
        if not 1 <= len(session_id) <= 255:
            raise BadRequest("Query parameter sessionId is required.")
        hold = (
            await session.execute(
                select(InventoryHold).where(
                    InventoryHold.shop_id == shop.id,
                    InventoryHold.stripe_session_id == session_id,
                )
            )
        ).scalar_one_or_none()
        if hold is None:
            raise NotFound(f"No checkout session {session_id!r}.", code="SESSION_NOT_FOUND")
        order = (
            await session.execute(select(Order).where(Order.hold_id == hold.id))
        ).scalar_one_or_none()
    body: dict[str, object] = {
        "sessionId": session_id,
        "status": "paid" if order is not None else _STATUS.get(hold.payment_status, "pending"),
        "amountTotal": order.amount_total if order is not None else hold.amount_total,
        "currency": order.currency if order is not None else hold.currency,
    }
    if order is not None:
        body["orderId"] = order.id
    return JSONResponse(body)
