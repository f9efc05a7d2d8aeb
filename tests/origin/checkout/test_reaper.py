"""The hold reaper (docs/api.md §3.7): expired holds give stock back exactly once, Stripe first."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from origin.checkout.reaper import reap_once
from origin.models import InventoryHold
from origin.models.types import utcnow
from tests.conftest import GATEWAY_TOKEN, ROOT_DIR, WEBHOOK_SECRET, OriginClient
from tests.origin.support import (
    HEADBAND_M,
    HEADBAND_M_KEY,
    assert_conserved,
    available,
    hold,
    sim_sessions,
)

CHECKOUT = "/api/checkout-session"
# One checkout attempt: inline items need an Idempotency-Key (docs/checkout.md).
KEY = {"Idempotency-Key": "attempt-1"}


async def age_all(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(InventoryHold)
            .where(col(InventoryHold.status) == "active")
            .values(expires_at=utcnow() - timedelta(seconds=5))
        )


async def reap(origin: OriginClient) -> int:
    state = origin.state
    return await reap_once(
        sessions=state.sessions,
        payments=state.payments,
        metrics=state.metrics,
        remote_pool=state.central.remote_pool,
    )


async def checkout(origin: OriginClient, key: str = "a") -> dict[str, Any]:
    response = await origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers={"Idempotency-Key": key}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_reaper_expires_stripe_session_then_releases_stock(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    body = await checkout(shop_origin)
    assert await reap(shop_origin) == 0  # not expired yet: nothing to do
    await age_all(sessions)
    assert await reap(shop_origin) == 1
    reaped = await hold(sessions, body["inventoryReservationId"])
    assert (reaped.status, reaped.end_reason, reaped.payment_status) == (
        "expired",
        "ttl",
        "expired",
    )
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    [stripe_session] = await sim_sessions(sim)
    assert stripe_session["status"] == "expired"
    assert await reap(shop_origin) == 0
    value = shop_origin.state.metrics.registry.get_sample_value(
        "inventory_holds_reaped_total", {"shop": "testshop"}
    )
    assert value == 1
    await assert_conserved(sessions, seeded)


async def test_reaper_keeps_hold_whose_session_stripe_reports_complete(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    body = await checkout(shop_origin)
    (await sim.post(f"/_sim/checkout/sessions/{body['sessionId']}/pay", json={})).raise_for_status()
    await age_all(sessions)
    assert await reap(shop_origin) == 0
    assert (await hold(sessions, body["inventoryReservationId"])).status == "active"
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23


async def test_reaper_keeps_hold_when_stripe_answer_is_unknown_and_retries_next_pass(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any
) -> None:
    body = await checkout(shop_origin)
    await age_all(sessions)
    (await sim.post("/_sim/faults", json={"count": 1, "status": 503})).raise_for_status()
    assert await reap(shop_origin) == 0
    assert (await hold(sessions, body["inventoryReservationId"])).status == "active"
    assert await reap(shop_origin) == 1
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25


async def test_hold_without_recorded_session_is_released_once_its_replayed_session_expired(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    """Stripe failed before creating anything; the reaper's replay (a session the stand-in
    makes now, as Stripe would) is expired before the stock is given back."""
    (await sim.post("/_sim/faults", json={"count": 1, "status": 500})).raise_for_status()
    response = await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY
    )
    assert response.status_code == 503
    await age_all(sessions)
    assert await reap(shop_origin) == 1
    assert [s["status"] for s in await sim_sessions(sim)] == ["expired"]
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    await assert_conserved(sessions, seeded)


async def test_concurrent_reapers_release_each_hold_exactly_once(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    for key in "abcde":
        await checkout(shop_origin, key)
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 15
    await age_all(sessions)
    counts = await asyncio.gather(*(reap(shop_origin) for _ in range(4)))
    assert sum(counts) == 5
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    await assert_conserved(sessions, seeded)


async def test_lifespan_reaper_runs_in_the_background(
    origin_factory: Any, stripe_sim: Any, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    origin = await origin_factory(
        stripe_api_base=stripe_sim.url, hold_reaper_enabled=True, hold_reaper_interval_seconds=0.1
    )
    await checkout(origin)
    await age_all(sessions)
    for _ in range(100):
        if await available(sessions, "testshop", HEADBAND_M_KEY) == 25:
            break
        await asyncio.sleep(0.05)
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25


async def test_reap_holds_command_prints_how_many_it_expired(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, pg_url: str, stripe_sim: Any
) -> None:
    await checkout(shop_origin, "x")
    await checkout(shop_origin, "y")
    await age_all(sessions)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT_DIR),
        "DATABASE_URL": pg_url,
        "ORIGIN_GATEWAY_TOKEN": GATEWAY_TOKEN,
        "STRIPE_SECRET_KEY": "sk_test_cli",
        "STRIPE_API_BASE": stripe_sim.url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "origin", "reap-holds"],
        env=env, cwd=ROOT_DIR, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "expired 2 hold(s)"
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
