"""The reaper never releases a hold blind (docs/checkout.md, "Holds that time out").

A hold whose Stripe answer was lost has no recorded session, but Stripe may have made one: the
reaper replays the create call (same idempotency key, same parameters), expires what comes
back, and only then gives the stock back. The origin runs in-process; Stripe is the stand-in.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import OriginClient
from tests.origin.checkout.test_reaper import CHECKOUT, age_all, reap
from tests.origin.support import (
    HEADBAND_M,
    HEADBAND_M_KEY,
    all_holds,
    assert_conserved,
    available,
    hold,
    sim_session_creates,
    sim_sessions,
)


def replays(origin: OriginClient, outcome: str) -> float:
    value = origin.state.metrics.registry.get_sample_value(
        "reaper_session_replays_total", {"shop": "testshop", "outcome": outcome}
    )
    return float(value or 0.0)


async def lose_the_stripe_answer(origin: OriginClient, sim: httpx.AsyncClient) -> str:
    """Stripe creates the session, the origin never hears of it: the hold has no session."""
    fault = {"count": 1, "afterCreate": True, "drop": True}
    (await sim.post("/_sim/faults", json=fault)).raise_for_status()
    response = await origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers={"Idempotency-Key": "lost"}
    )
    assert response.status_code == 503, response.text
    [created] = await sim_sessions(sim)
    assert created["status"] == "open"
    return str(created["id"])


async def test_crash_after_create_then_ttl_expiry_expires_the_session_before_releasing(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    session_id = await lose_the_stripe_answer(shop_origin, sim)
    [lost] = [h for h in await all_holds(sessions) if h.stripe_session_id is None]
    await age_all(sessions)

    assert await reap(shop_origin) == 1

    [stripe_session] = await sim_sessions(sim)
    assert (stripe_session["id"], stripe_session["status"]) == (session_id, "expired")
    requests = (await sim.get("/_sim/requests")).json()["data"]
    expire = [r for r in requests if r["path"] == f"/v1/checkout/sessions/{session_id}/expire"]
    creates = await sim_session_creates(sim)
    assert [r["idempotencyKey"] for r in creates] == [lost.stripe_idempotency_key] * 2
    assert creates[0]["params"] == creates[1]["params"]  # the replay is the same call
    assert creates[1]["replayed"] is True  # Stripe answered it with the session it had made
    released = await hold(sessions, lost.id)
    assert released.status == "expired"
    assert released.stripe_session_id == session_id
    assert released.ended_at is not None
    assert len(expire) == 1
    assert expire[0]["status"] == 200
    assert expire[0]["at"] <= released.ended_at.timestamp()
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    assert replays(shop_origin, "recovered") == 1
    await assert_conserved(sessions, seeded)


async def test_a_failed_replay_keeps_the_hold_counts_it_and_the_next_pass_recovers(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    session_id = await lose_the_stripe_answer(shop_origin, sim)
    await age_all(sessions)
    (await sim.post("/_sim/faults", json={"count": 1, "status": 503})).raise_for_status()

    assert await reap(shop_origin) == 0  # the replay's outcome is unknown: keep the stock
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23
    assert replays(shop_origin, "failed") == 1
    [stripe_session] = await sim_sessions(sim)
    assert stripe_session["status"] == "open"
    await assert_conserved(sessions, seeded)

    assert await reap(shop_origin) == 1
    [stripe_session] = await sim_sessions(sim)
    assert (stripe_session["id"], stripe_session["status"]) == (session_id, "expired")
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    assert replays(shop_origin, "recovered") == 1
    await assert_conserved(sessions, seeded)


async def test_a_replay_stripe_refuses_as_invalid_proves_no_session_and_releases(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    """Stripe saves no result for a request that fails validation: nothing exists."""
    (await sim.post("/_sim/faults", json={"count": 1, "status": 500})).raise_for_status()
    response = await shop_origin.request(
        "POST", CHECKOUT, json={"items": [HEADBAND_M]}, headers={"Idempotency-Key": "never"}
    )
    assert response.status_code == 503
    await age_all(sessions)
    (await sim.post("/_sim/faults", json={"count": 1, "status": 400})).raise_for_status()

    assert await reap(shop_origin) == 1
    assert await sim_sessions(sim) == []
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 25
    assert replays(shop_origin, "never_created") == 1
    await assert_conserved(sessions, seeded)


async def test_a_paid_session_found_by_the_replay_keeps_the_hold_for_the_webhook(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    session_id = await lose_the_stripe_answer(shop_origin, sim)
    paid = await sim.post(f"/_sim/checkout/sessions/{session_id}/pay", json={})
    assert paid.status_code == 200, paid.text
    await age_all(sessions)

    assert await reap(shop_origin) == 0
    [kept] = await all_holds(sessions)
    assert (kept.status, kept.stripe_session_id) == ("active", session_id)
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23
    await assert_conserved(sessions, seeded)


async def test_a_retry_meeting_its_unsettled_expired_hold_answers_503_after_one_replay(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any
) -> None:
    old_session = await lose_the_stripe_answer(shop_origin, sim)
    await age_all(sessions)
    (await sim.post("/_sim/faults", json={"count": 5, "status": 503})).raise_for_status()
    retry = {"json": {"items": [HEADBAND_M]}, "headers": {"Idempotency-Key": "lost"}}

    refused = await shop_origin.request("POST", CHECKOUT, **retry)

    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "PAYMENT_PROVIDER_UNAVAILABLE"
    assert len(await sim_session_creates(sim)) == 2  # the lost call and one replay
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23
    (await sim.delete("/_sim/faults")).raise_for_status()

    again = await shop_origin.request("POST", CHECKOUT, **retry)

    assert again.status_code == 201, again.text
    statuses = {s["id"]: s["status"] for s in await sim_sessions(sim)}
    assert statuses == {old_session: "expired", again.json()["sessionId"]: "open"}
    assert await available(sessions, "testshop", HEADBAND_M_KEY) == 23
    await assert_conserved(sessions, seeded)
