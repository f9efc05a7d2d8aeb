"""Shadow mode: admit everything, count and log what would have been refused."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest

from gateway.app import create_app
from gateway.settings import Settings
from tests.gateway.conftest import front_door, serve

pytestmark = pytest.mark.usefixtures("shared_redis")


async def test_shadow_mode_admits_and_counts_would_be_refusals(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        gateway_rate_limit_shadow=True, checkout_rate_limit_requests_per_minute=2
    )
    headers = front_door(**{"x-shop-id": "shadow-shop"})
    caplog.set_level(logging.INFO, logger="gateway.pipeline")
    async with serve(create_app(settings)) as client:
        responses = [await client.post("/api/checkout-session", headers=headers) for _ in range(5)]
        metrics = (await client.get("/metrics", headers=front_door())).text
    assert [r.status_code for r in responses] == [200] * 5
    assert [r.headers["ratelimit"].split(";")[1] for r in responses] == [
        "r=1",
        "r=0",
        "r=0",
        "r=0",
        "r=0",
    ]
    assert "retry-after" not in responses[-1].headers
    series = (
        'gateway_ratelimit_shadow_limited_total{route="/api/checkout-session",shop="shadow-shop"}'
    )
    assert f"{series} 3.0" in metrics
    assert "checkout_rate_limited_total{" in metrics  # started at 0 for the alert
    assert not re.search(r"^checkout_rate_limited_total\{.*\} [1-9]", metrics, re.M)
    shadow_lines = [
        r for r in caplog.records if r.getMessage() == "rate limit would refuse (shadow mode)"
    ]
    assert len(shadow_lines) == 3


async def test_shadow_mode_still_spends_no_quota_on_would_be_refusals(
    make_settings: Callable[..., Settings],
) -> None:
    """Turning shadow mode off mid-window enforces exactly what was admitted so far."""
    shadow = make_settings(
        gateway_rate_limit_shadow=True, checkout_rate_limit_requests_per_minute=3
    )
    enforcing = make_settings(checkout_rate_limit_requests_per_minute=3)
    headers = front_door(**{"x-shop-id": "shadow-shop"})
    async with serve(create_app(shadow)) as client:
        for _ in range(6):
            await client.post("/api/checkout-session", headers=headers)
    async with serve(create_app(enforcing)) as client:
        response = await client.post("/api/checkout-session", headers=headers)
    assert response.status_code == 429
