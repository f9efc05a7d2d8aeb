"""Concurrency decided by the database: one hold per intent, never oversold, across processes.

Every test runs twice: straight to PostgreSQL, and through a real PgBouncer in transaction
pooling (``database``), where consecutive transactions may land on different server
connections — the deployment of docs/deploy.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import GATEWAY_TOKEN, OriginClient, StripeSim, origin_process_env
from tests.origin.support import (
    HEADBAND_M_KEY,
    all_holds,
    assert_conserved,
    available,
    sim_sessions,
)
from tests.support.processes import ServiceProcess, start_uvicorn

CHECKOUT = "/api/checkout-session"
ONE = {"sku": "cf-headband", "quantity": 1, "variantAttributes": {"size": "m", "color": "navy"}}


@pytest.fixture(params=["direct", "pgbouncer"])
def database(request: pytest.FixtureRequest, pg_url: str) -> str:
    """The origins' DATABASE_URL: the run's database, directly or through PgBouncer."""
    if request.param == "pgbouncer":
        url: str = request.getfixturevalue("pgbouncer_url")
        return url
    return pg_url


@pytest.fixture
async def shop_origin(
    origin_factory: Callable[..., Any],
    stripe_sim: StripeSim,
    seeded: dict[str, Any],
    sim: httpx.AsyncClient,
    database: str,
) -> OriginClient:
    """The shared ``shop_origin``, on ``database``."""
    client: OriginClient = await origin_factory(
        database_url=database,
        stripe_api_base=stripe_sim.url,
        stripe_max_network_retries=0,
        stripe_timeout_seconds=3,
    )
    return client


async def test_fifty_concurrent_checkouts_of_one_intent_make_one_hold_one_session(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    responses = await asyncio.gather(
        *(
            shop_origin.request(
                "POST", CHECKOUT, json={"items": [ONE]}, headers={"Idempotency-Key": "same"}
            )
            for _ in range(50)
        )
    )
    assert all(r.status_code in (200, 201) for r in responses), {r.status_code for r in responses}
    assert sum(r.status_code == 201 for r in responses) == 1
    assert len({r.json()["sessionId"] for r in responses}) == 1
    assert len(await all_holds(sessions)) == 1
    assert len(await sim_sessions(sim)) == 1
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 24
    await assert_conserved(sessions, seeded)


async def _flash_sale(clients: list[OriginClient | httpx.AsyncClient], buyers: int) -> list[int]:
    async def buy(i: int) -> int:
        client = clients[i % len(clients)]
        headers = {"Idempotency-Key": f"buyer-{i}", "x-shop-id": "testshop"}
        if isinstance(client, OriginClient):
            response = await client.request(
                "POST", CHECKOUT, json={"items": [ONE]}, headers=headers
            )
        else:
            response = await client.post(
                CHECKOUT,
                json={"items": [ONE]},
                headers={**headers, "x-gateway-token": GATEWAY_TOKEN},
            )
        return response.status_code

    return list(await asyncio.gather(*(buy(i) for i in range(buyers))))


async def test_flash_sale_of_200_buyers_for_25_units_sells_exactly_25(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    statuses = await _flash_sale([shop_origin], 200)
    assert statuses.count(201) == 25
    assert statuses.count(409) == 175
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 0
    holds = await all_holds(sessions)
    assert len(holds) == 25
    assert all(h.status == "active" for h in holds)
    await assert_conserved(sessions, seeded)


@pytest.fixture
def two_origins(
    database: str, stripe_sim: Any, sim: httpx.AsyncClient, seeded: Any, log_dir: Path
) -> Iterator[list[ServiceProcess]]:
    """Two origin processes on the same database, paying through the same stand-in."""
    env = origin_process_env(database, stripe_sim.url, STRIPE_MAX_NETWORK_RETRIES="0")
    origins: list[ServiceProcess] = []
    try:
        for i in range(2):
            origins.append(
                start_uvicorn(f"origin{i}", "origin.app:create_app", env=env, log_dir=log_dir)
            )
        yield origins
    finally:
        for origin in origins:
            origin.stop()


async def test_flash_sale_across_two_origin_processes_sharing_the_database(
    two_origins: list[ServiceProcess], sessions: Any, seeded: Any
) -> None:
    clients = [httpx.AsyncClient(base_url=o.url, timeout=30) for o in two_origins]
    try:
        statuses = await _flash_sale(list(clients), 120)
    finally:
        for client in clients:
            await client.aclose()
    assert statuses.count(201) == 25, sorted(set(statuses))
    assert statuses.count(409) == 95
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 0
    assert len(await all_holds(sessions)) == 25
    await assert_conserved(sessions, seeded)


async def test_same_intent_across_two_origin_processes_converges(
    two_origins: list[ServiceProcess], sessions: Any
) -> None:
    headers = {"x-gateway-token": GATEWAY_TOKEN, "x-shop-id": "testshop", "Idempotency-Key": "x"}
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    two_origins[i % 2].url + CHECKOUT, json={"items": [ONE]}, headers=headers
                )
                for i in range(20)
            )
        )
    assert {r.status_code for r in responses} <= {200, 201}
    assert len({r.json()["sessionId"] for r in responses}) == 1
    assert len(await all_holds(sessions)) == 1
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 24
