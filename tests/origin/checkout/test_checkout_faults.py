"""Stripe failures (COM-103): release only on definitive no-session answers; retries converge.

Faults are injected at the real stand-in (``POST /_sim/faults``); the origin's stripe client
makes no retries of its own here, so each fault is seen by the checkout.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import OriginClient
from tests.origin.support import (
    HEADBAND_M,
    HEADBAND_M_KEY,
    all_holds,
    assert_conserved,
    available,
    sim_sessions,
)

CHECKOUT = "/api/checkout-session"
# One checkout attempt: inline items need an Idempotency-Key (docs/checkout.md).
KEY = {"Idempotency-Key": "attempt-1"}


async def fault(sim: httpx.AsyncClient, **spec: Any) -> None:
    (await sim.post("/_sim/faults", json={"count": 1, **spec})).raise_for_status()


def classified(origin: OriginClient, kind: str) -> float:
    value = origin.state.metrics.registry.get_sample_value(
        "stripe_error_classification_total", {"classification": kind}
    )
    return float(value or 0)


def orphaned(origin: OriginClient) -> float:
    value = origin.state.metrics.registry.get_sample_value(
        "inventory_hold_orphaned_total", {"shop": "testshop"}
    )
    return float(value or 0)


@pytest.mark.parametrize("status", [401, 403])
async def test_com103_tc01_auth_failure_releases_hold_and_answers_502(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any, status: int
) -> None:
    await fault(sim, status=status)
    response = await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY
    )
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "PAYMENT_PROVIDER_ERROR"
    [hold] = await all_holds(sessions)
    assert hold.status == "released"
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    assert orphaned(shop_origin) == 1
    assert classified(shop_origin, "definitive") == 1
    await assert_conserved(sessions, seeded)


async def test_com103_tc02_validation_failure_releases_hold(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any
) -> None:
    await fault(sim, status=400)
    response = await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY
    )
    assert response.status_code == 502
    [hold] = await all_holds(sessions)
    assert (hold.status, hold.end_reason) == ("released", "stripe_definitive_failure")
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25


UNKNOWN_FAULTS = [
    pytest.param({"status": 500}, id="500"),
    pytest.param({"status": 503}, id="503"),
    pytest.param({"status": 429}, id="429"),
    pytest.param({"drop": True}, id="drop"),
    pytest.param({"status": 500, "afterCreate": True}, id="afterCreate-500"),
    pytest.param({"drop": True, "afterCreate": True}, id="afterCreate-drop"),
    # Just past the origin's 3 s deadline, so the stand-in finishes soon after: a retry that
    # arrives meanwhile waits for it (as Stripe's idempotency layer would make it conflict).
    pytest.param({"delay": 3.5}, id="timeout"),
]


@pytest.mark.parametrize("spec", UNKNOWN_FAULTS)
async def test_com103_tc03_unknown_outcome_keeps_hold_and_answers_503(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, spec: dict[str, Any]
) -> None:
    await fault(sim, **spec)
    response = await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "PAYMENT_PROVIDER_UNAVAILABLE"
    assert int(response.headers["retry-after"]) >= 1
    [hold] = await all_holds(sessions)
    assert hold.status == "active"
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23
    assert orphaned(shop_origin) == 0
    assert classified(shop_origin, "unknown") == 1


@pytest.mark.parametrize(
    "spec",
    [
        *UNKNOWN_FAULTS,
        pytest.param({"status": 400}, id="400"),
        pytest.param({"status": 401}, id="401"),
    ],
)
async def test_every_fault_then_retry_ends_with_one_hold_and_one_session(
    shop_origin: OriginClient,
    sim: httpx.AsyncClient,
    sessions: Any,
    seeded: Any,
    spec: dict[str, Any],
) -> None:
    await fault(sim, **spec)
    first = await shop_origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY)
    assert first.status_code in (502, 503)
    retry = await shop_origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY)
    assert retry.status_code in (200, 201), retry.text
    active = [h for h in await all_holds(sessions) if h.status == "active"]
    assert [h.id for h in active] == [retry.json()["inventoryReservationId"]]
    open_sessions = [s for s in await sim_sessions(sim) if s["status"] == "open"]
    assert [s["id"] for s in open_sessions] == [retry.json()["sessionId"]]
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23
    await assert_conserved(sessions, seeded)


async def test_retry_after_unknown_stripe_outcome_reuses_hold_and_session(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any
) -> None:
    await fault(sim, status=500, afterCreate=True)
    first = await shop_origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY)
    assert first.status_code == 503
    [stripe_session] = await sim_sessions(sim)  # Stripe did create it; we never heard
    retry = await shop_origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY)
    assert retry.status_code == 200
    assert retry.json()["sessionId"] == stripe_session["id"]
    assert len(await all_holds(sessions)) == 1


async def test_classification_flag_off_never_releases(
    origin_factory: Any, stripe_sim: Any, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    origin = await origin_factory(
        stripe_api_base=stripe_sim.url,
        stripe_max_network_retries=0,
        enable_stripe_error_classification=False,
    )
    await fault(sim, status=401)
    response = await origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY)
    assert response.status_code == 502
    [hold] = await all_holds(sessions)
    assert hold.status == "active"  # left for the reaper: safe, but stock waits for the TTL
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23


async def test_whole_stripe_call_ends_within_the_deadline_even_with_client_retries(
    origin_factory: Any, stripe_sim: Any, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    import time

    origin = await origin_factory(
        stripe_api_base=stripe_sim.url, stripe_max_network_retries=3, stripe_timeout_seconds=1.5
    )
    await fault(sim, delay=3, count=4)
    started = time.monotonic()
    response = await origin.request("POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers=KEY)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert elapsed < 2.5  # one deadline over the whole call, not per attempt
