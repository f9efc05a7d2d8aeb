"""``POST /api/inventory/validate`` (docs/api.md §3.2); the rules live in
:mod:`origin.inventory.validation`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from origin.inventory import validation as inventory
from origin.state import get_state
from origin.web import read_json_object, shop_catalog


async def validate_inventory(request: Request) -> JSONResponse:
    state = get_state(request)
    # Read the body before taking a connection; it is parsed only once the shop is known,
    # so an unknown shop is 404 SHOP_NOT_FOUND whatever the body holds.
    await request.body()
    async with state.sessions() as session, session.begin():
        catalog = await shop_catalog(request, session, state.catalog)
        shop = catalog.shop
        lines = inventory.parse_validate_request(await read_json_object(request), shop_id=shop.id)
        shortages = await inventory.shortages_for(
            session, central=state.central, catalog=catalog, lines=lines
        )
    if shortages:
        state.metrics.insufficient_stock.labels(shop=shop.id, route="validate").inc()
        raise inventory.insufficient_stock(shortages)
    return JSONResponse({"ok": True})
