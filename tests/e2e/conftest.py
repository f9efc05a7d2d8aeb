"""The end-to-end stack: Stripe stand-in → gateway → origin as real processes, one per module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import (
    StripeSim,
    gateway_process_env,
    origin_process_env,
    start_stripe_sim,
)
from tests.support.processes import (
    ServiceProcess,
    free_port,
    start_gateway_process,
    start_uvicorn,
)

FRONT_DOOR = "e2e-payment-front-door"
HEADBAND = {
    "sku": "cf-headband",
    "quantity": 2,
    "variantAttributes": {"size": "m", "color": "navy"},
}


@dataclass
class Stack:
    gateway: ServiceProcess
    origin: ServiceProcess
    sim: StripeSim


@pytest.fixture(scope="module")
def stack(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Stand-in → gateway → origin, started in the order their addresses are known."""
    log_dir = tmp_path_factory.mktemp("e2e-stack")
    gateway_port = free_port()
    sim = start_stripe_sim(
        log_dir,
        webhook_url=f"http://127.0.0.1:{gateway_port}/api/stripe-webhook",
        extra=["--webhook-header", f"x-front-door-token: {FRONT_DOOR}"],
    )
    started: list[ServiceProcess] = [sim.process]
    try:
        origin = start_uvicorn(
            "origin",
            "origin.app:create_app",
            env=origin_process_env(pg_url, sim.url),
            log_dir=log_dir,
        )  # fmt: skip
        started.append(origin)
        gateway = start_gateway_process(
            "gateway",
            port=gateway_port,
            env=gateway_process_env(origin.url, FRONT_DOOR),
            log_dir=log_dir,
        )  # fmt: skip
        started.append(gateway)
        yield Stack(gateway, origin, sim)
    finally:
        for process in reversed(started):
            process.stop()


@pytest.fixture
async def shop(stack: Stack, seeded: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A storefront's client: through the front door to the gateway, as testshop."""
    headers = {"x-front-door-token": FRONT_DOOR, "x-shop-id": "testshop"}
    async with httpx.AsyncClient(base_url=stack.gateway.url, headers=headers, timeout=10) as c:
        yield c


@pytest.fixture
async def stripe(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with stack.sim.client() as client:
        (await client.post("/_sim/reset")).raise_for_status()
        yield client
