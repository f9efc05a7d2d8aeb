"""Which shop a Stripe event belongs to (docs/api.md §3.4 step 2; plan item COM-202): from the
session's ``metadata.shop_id``, else from the session→shop map; unresolvable → 503 so Stripe
retries; a request ``x-shop-id`` naming another shop → 403, or only counted in monitoring mode.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import delete
from sqlmodel import col

from origin.models import StripeObjectShop
from tests.origin.orders.webhook_support import (
    Sessions,
    Shopper,
    forge,
    hold_row,
    metric,
    orders_of,
    processed,
    webhook_count,
)


async def test_com202_tc01_event_of_another_shop_than_x_shop_id_is_403_and_counted(
    shopper: Shopper, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])

    with caplog.at_level(logging.WARNING, logger="origin.webhooks"):
        response = await shopper.deliver(event, shop="othershop")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "TENANT_MISMATCH"
    assert metric(shopper.origin, "webhook_tenant_mismatch_total") == 1
    # Nothing processed, and the event id is not spent: the right delivery still works.
    assert await orders_of(sessions) == []
    assert await processed(sessions) == []
    assert (await hold_row(sessions, checkout["inventoryReservationId"])).status == "active"
    [record] = [r for r in caplog.records if r.getMessage() == "webhook tenant mismatch"]
    assert record.__dict__["eventId"] == event["id"]
    assert record.__dict__["shop"] == "testshop"
    assert record.__dict__["claimedShop"] == "othershop"

    await shopper.delivered(event, shop="testshop")
    assert len(await orders_of(sessions)) == 1


async def test_com202_tc02_event_of_the_same_shop_as_x_shop_id_is_processed(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])

    await shopper.delivered(event, shop="testshop")

    [order] = await orders_of(sessions)
    assert order.shop_id == "testshop"
    assert metric(shopper.origin, "webhook_tenant_mismatch_total") == 0
    assert webhook_count(shopper.origin, "checkout.session.completed", "processed") == 1


async def test_com202_tc03_unresolvable_tenant_is_503_not_400_and_counted(
    shopper: Shopper, sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    """No ``metadata.shop_id`` and no session→shop row: Stripe must retry, never drop it."""
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    anonymous = forge(event, metadata={}, id="cs_test_unknown_to_the_origin")

    with caplog.at_level(logging.WARNING, logger="origin.webhooks"):
        response = await shopper.deliver(anonymous)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "TENANT_UNRESOLVABLE"
    assert metric(shopper.origin, "webhook_tenant_unresolvable_total") == 1
    assert await processed(sessions) == []
    [record] = [r for r in caplog.records if r.getMessage() == "webhook tenant unresolvable"]
    assert record.__dict__["eventId"] == anonymous["id"]


async def test_tenant_falls_back_to_the_session_shop_map_without_metadata(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    without_metadata = forge(event, metadata={})

    await shopper.delivered(without_metadata)

    [order] = await orders_of(sessions)
    assert order.shop_id == "testshop"
    assert order.hold_id == checkout["inventoryReservationId"]


async def test_unresolvable_event_is_processed_when_stripe_retries_after_the_map_exists(
    shopper: Shopper, sessions: Sessions
) -> None:
    """503 keeps the event alive: the retry after the map row is written takes effect."""
    checkout = await shopper.checkout()
    event = forge(await shopper.pay(checkout["sessionId"]), metadata={})
    async with sessions() as session, session.begin():
        mapped = await session.get(StripeObjectShop, checkout["sessionId"])
        assert mapped is not None
        saved = mapped.model_dump()
        await session.execute(
            delete(StripeObjectShop).where(col(StripeObjectShop.object_id) == checkout["sessionId"])
        )

    assert (await shopper.deliver(event)).status_code == 503
    async with sessions() as session, session.begin():
        session.add(StripeObjectShop(**saved))
    await shopper.delivered(event)

    assert len(await orders_of(sessions)) == 1


async def test_metadata_naming_an_unknown_shop_is_unresolvable(
    shopper: Shopper, sessions: Sessions
) -> None:
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    metadata = {**event["data"]["object"]["metadata"], "shop_id": "no-such-shop"}

    response = await shopper.deliver(forge(event, metadata=metadata))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "TENANT_UNRESOLVABLE"
    assert await orders_of(sessions) == []


async def test_metadata_naming_another_shop_never_touches_this_shops_hold(
    shopper: Shopper, sessions: Sessions
) -> None:
    """A session of testshop whose metadata claims othershop: no order for either shop."""
    checkout = await shopper.checkout()
    event = await shopper.pay(checkout["sessionId"])
    metadata = {**event["data"]["object"]["metadata"], "shop_id": "othershop"}

    await shopper.delivered(forge(event, metadata=metadata))

    assert await orders_of(sessions) == []
    assert (await hold_row(sessions, checkout["inventoryReservationId"])).status == "active"
    assert webhook_count(shopper.origin, "checkout.session.completed", "ignored") == 1


async def test_tenant_assertion_disabled_processes_a_mismatch_but_still_counts_it(
    origin_factory: Any,
    stripe_sim: Any,
    seeded: Any,
    sim: httpx.AsyncClient,
    sessions: Sessions,
) -> None:
    """``WEBHOOK_TENANT_ASSERTION_ENABLED=false`` is the plan's monitoring mode."""
    origin = await origin_factory(
        stripe_api_base=stripe_sim.url, webhook_tenant_assertion_enabled=False
    )
    monitoring = Shopper(origin, sim)
    checkout = await monitoring.checkout()
    event = await monitoring.pay(checkout["sessionId"])

    await monitoring.delivered(event, shop="othershop")

    [order] = await orders_of(sessions)
    assert order.shop_id == "testshop"  # the resolved shop, never the claimed one
    assert metric(origin, "webhook_tenant_mismatch_total") == 1
