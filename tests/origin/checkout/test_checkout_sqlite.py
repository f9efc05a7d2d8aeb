"""The embedded default (SQLite, one process) keeps the same guarantees."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from origin import migrate
from origin.checkout.reaper import reap_once
from origin.db import create_engine, session_factory
from tests.conftest import OriginClient, load_test_catalog, origin_settings, seed, start_origin
from tests.origin.support import HEADBAND_M_KEY, all_holds, assert_conserved, available

CHECKOUT = "/api/checkout-session"
# One checkout attempt: inline items need an Idempotency-Key (docs/checkout.md).
KEY = {"Idempotency-Key": "attempt-1"}
ONE = {"sku": "cf-headband", "quantity": 1, "variantAttributes": {"size": "m", "color": "navy"}}


@pytest.fixture
async def sqlite_origin(
    tmp_path: Path, stripe_sim: Any, sim: httpx.AsyncClient
) -> AsyncIterator[tuple[OriginClient, Any, dict[str, Any]]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'origin.db'}"
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    catalog = load_test_catalog()
    await seed(sessions, catalog)
    client, lifespan = await start_origin(
        origin_settings(url, stripe_api_base=stripe_sim.url, stripe_max_network_retries=0)
    )
    try:
        yield client, sessions, catalog
    finally:
        await client.http.aclose()
        await lifespan.__aexit__(None, None, None)
        await engine.dispose()


async def test_sqlite_checkout_and_retry_converge(sqlite_origin: Any) -> None:
    origin, sessions, catalog = sqlite_origin
    first = await origin.request("POST", CHECKOUT, json={"items": [ONE]}, headers=KEY)
    again = await origin.request("POST", CHECKOUT, json={"items": [ONE]}, headers=KEY)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["sessionId"] == again.json()["sessionId"]
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 24
    await assert_conserved(sessions, catalog)


async def test_sqlite_concurrent_retries_of_one_intent_make_one_hold(sqlite_origin: Any) -> None:
    origin, sessions, catalog = sqlite_origin
    responses = await asyncio.gather(
        *(
            origin.request(
                "POST", CHECKOUT, json={"items": [ONE]}, headers={"Idempotency-Key": "k"}
            )
            for _ in range(20)
        )
    )
    assert {r.status_code for r in responses} <= {200, 201}
    assert len({r.json()["sessionId"] for r in responses}) == 1
    assert len(await all_holds(sessions)) == 1
    await assert_conserved(sessions, catalog)


async def test_sqlite_flash_sale_never_oversells(sqlite_origin: Any) -> None:
    origin, sessions, catalog = sqlite_origin
    item = {**ONE, "variantAttributes": {"size": "l", "color": "navy"}}  # 5 in stock
    responses = await asyncio.gather(
        *(
            origin.request(
                "POST", CHECKOUT, json={"items": [item]}, headers={"Idempotency-Key": f"b{i}"}
            )
            for i in range(30)
        )
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 5
    assert statuses.count(409) == 25
    assert await available(sessions, "testshop", "cf-headband|color=navy|size=l") == 0
    await assert_conserved(sessions, catalog)


async def test_sqlite_reaper_releases_expired_holds(sqlite_origin: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import update
    from sqlmodel import col

    from origin.models import InventoryHold
    from origin.models.types import utcnow

    origin, sessions, catalog = sqlite_origin
    await origin.request("POST", CHECKOUT, json={"items": [ONE]}, headers=KEY)
    async with sessions() as session, session.begin():
        await session.execute(
            update(InventoryHold).values(expires_at=utcnow() - timedelta(seconds=1))
            .where(col(InventoryHold.status) == "active")
        )  # fmt: skip
    state = origin.state
    assert (
        await reap_once(
            sessions=sessions, payments=state.payments, metrics=state.metrics, remote_pool=None
        )
        == 1
    )
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    await assert_conserved(sessions, catalog)
