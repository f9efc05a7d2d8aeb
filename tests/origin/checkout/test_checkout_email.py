"""customerEmail is checked as Stripe would check it, before any stock is held.

Found by schemathesis (tests/api): an address Stripe refuses (no dotted domain, control
characters) passed the origin's check, took stock, and came back from Stripe as a definitive
failure — a released hold and 502 ``PAYMENT_PROVIDER_ERROR`` for what is a bad request.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import OriginClient
from tests.origin.support import HEADBAND_M, all_holds, sim_session_creates


@pytest.mark.parametrize("email", ["sam@localhost", "sa\x12m@example.com", "sam@exa mple.com"])
async def test_an_address_stripe_would_refuse_is_400_and_holds_nothing(
    shop_origin: OriginClient, sim: httpx.AsyncClient, sessions: Any, seeded: Any, email: str
) -> None:
    response = await shop_origin.request(
        "POST",
        "/api/checkout-session",
        json={"items": [HEADBAND_M], "customerEmail": email},
        headers={"Idempotency-Key": "email-check"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "INVALID_REQUEST"
    assert "customerEmail" in response.json()["error"]["message"]
    assert await all_holds(sessions) == []
    assert await sim_session_creates(sim) == []


async def test_an_ordinary_address_reaches_stripe(
    shop_origin: OriginClient, sim: httpx.AsyncClient, seeded: Any
) -> None:
    response = await shop_origin.request(
        "POST",
        "/api/checkout-session",
        json={"items": [HEADBAND_M], "customerEmail": "first.last@mail.example.co.uk"},
        headers={"Idempotency-Key": "email-ok"},
    )
    assert response.status_code == 201, response.text
