"""Central inventory fail-closed through the real stack (docs/api.md §3.6, COM-401).

Gateway and origin run as uvicorn processes, the origin in production with enforcement on and
its central pool at a database URL that refuses connections. A shop that requires the pool
is answered 503 ``INVENTORY_UNAVAILABLE`` through the gateway, for validation and checkout,
with nothing held; a shop that may fall back validates and checks out on its own stock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import select

from origin.models import HoldItem, InventoryHold
from tests.conftest import (
    StripeSim,
    gateway_process_env,
    origin_process_env,
    seed,
)
from tests.origin.inventory.central_support import (
    CHECKOUT,
    UNREACHABLE_URL,
    VALIDATE,
    central_test_catalog,
    tee,
)
from tests.support.processes import ServiceProcess, start_gateway_process, start_uvicorn

pytestmark = pytest.mark.e2e
FRONT_DOOR = "e2e-central-front-door"


@pytest.fixture
async def central_catalog_seeded(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    catalog = central_test_catalog()
    await seed(sessions, catalog)
    return catalog


@pytest.fixture
def stack(
    pg_url: str,
    central_catalog_seeded: Any,
    stripe_sim: StripeSim,
    log_dir: Path,
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    origin = start_uvicorn(
        "origin",
        "origin.app:create_app",
        env=origin_process_env(
            pg_url, stripe_sim.url, STRIPE_MAX_NETWORK_RETRIES="0", ORIGIN_ENV="production",
            ENFORCE_CENTRAL_INVENTORY="true", CENTRAL_INVENTORY_DATABASE_URL=UNREACHABLE_URL,
        ),
        log_dir=log_dir,
    )  # fmt: skip
    try:
        gateway = start_gateway_process(
            "gateway",
            env=gateway_process_env(origin.url, FRONT_DOOR),
            log_dir=log_dir,
        )  # fmt: skip
    except BaseException:
        origin.stop()
        raise
    try:
        yield gateway, origin
    finally:
        gateway.stop()
        origin.stop()


def _headers(shop: str, **extra: str) -> dict[str, str]:
    return {"x-front-door-token": FRONT_DOOR, "x-shop-id": shop, **extra}


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "INVENTORY_UNAVAILABLE"
    assert error["message"]
    assert error["requestId"] == response.headers["x-request-id"]


async def test_fail_closed_shop_gets_503_inventory_unavailable_through_the_gateway(
    stack: tuple[ServiceProcess, ServiceProcess],
    sessions: async_sessionmaker[AsyncSession],
    sim: httpx.AsyncClient,
) -> None:
    gateway, origin = stack
    body = {"items": [tee("m", 1)]}
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as client:
        validated = await client.post(VALIDATE, json=body, headers=_headers("beta"))
        checked_out = await client.post(
            CHECKOUT, json=body, headers=_headers("beta", **{"idempotency-key": uuid.uuid4().hex})
        )
        _assert_unavailable(validated)
        _assert_unavailable(checked_out)

        # A shop allowed to fall back sells from its own stock through the same stack.
        ok = await client.post(VALIDATE, json={"items": [tee("m", 20)]}, headers=_headers("alpha"))
        assert (ok.status_code, ok.json()) == (200, {"ok": True})
        created = await client.post(
            CHECKOUT, json=body, headers=_headers("alpha", **{"idempotency-key": uuid.uuid4().hex})
        )
        assert created.status_code == 201, created.text

    async with sessions() as session:
        held = (
            await session.execute(
                select(InventoryHold.shop_id, HoldItem.pool).join(
                    HoldItem,
                    HoldItem.hold_id == InventoryHold.id,  # type: ignore[arg-type]
                )
            )
        ).all()
    assert [tuple(row) for row in held] == [("alpha", "shop")]  # nothing held for beta

    async with httpx.AsyncClient(base_url=origin.url, timeout=5) as direct:
        metrics = (await direct.get("/metrics")).text
    assert 'inventory_central_fail_closed_total{env="production",shop="beta"} 2.0' in metrics
    assert 'inventory_central_fallback_total{env="production",shop="alpha"} 2.0' in metrics
    log = origin.log_text()
    assert log.count("refused (fail closed)") == 2
    assert log.count("shop stock used (fallback)") == 2
