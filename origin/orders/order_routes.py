"""``GET /api/order-status?sessionId=…``: the shop, then the session id, then the domain's
answer (:mod:`origin.orders.order_status`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from checkout_edge_shared.errors import BadRequest
from origin.orders.order_status import order_status as status_of
from origin.state import get_state
from origin.web import resolve_shop


async def order_status(request: Request) -> JSONResponse:
    state = get_state(request)
    session_id = request.query_params.get("sessionId", "")
    async with state.sessions() as session, session.begin():
        shop = await resolve_shop(request, session)
        if not 1 <= len(session_id) <= 255:
            raise BadRequest("sessionId: the query parameter is required (1 to 255 characters).")
        body = await status_of(session, shop_id=shop.id, session_id=session_id)
    return JSONResponse(body)
