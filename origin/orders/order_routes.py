"""``GET /api/order-status?sessionId=…``: the shop, then the session id, then the domain's
answer (:mod:`origin.orders.order_status`).

The shop comes from the per-shop catalog cache (:mod:`origin.catalog.cache`, one primary-key
read of ``catalog_version``); the answer itself is the hold's stored snapshot, never the
catalog now, so a later price change does not rewrite what was charged.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from checkout_edge_shared.errors import BadRequest
from origin.orders.order_status import order_status as status_of
from origin.state import get_state
from origin.web import shop_catalog


async def order_status(request: Request) -> JSONResponse:
    state = get_state(request)
    session_id = request.query_params.get("sessionId", "")
    async with state.sessions() as session, session.begin():
        shop = (await shop_catalog(request, session, state.catalog)).shop
        if not 1 <= len(session_id) <= 255:
            raise BadRequest("sessionId: the query parameter is required (1 to 255 characters).")
        body = await status_of(session, shop_id=shop.id, session_id=session_id)
    return JSONResponse(body)
