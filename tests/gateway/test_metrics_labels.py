"""The gateway's shop label: only shops the origin answered for; series alerts need start at 0."""

from __future__ import annotations

from prometheus_client import generate_latest

from gateway.metrics import UNVERIFIED_SHOP, GatewayMetrics, KnownShops


def exposition(metrics: GatewayMetrics) -> str:
    return generate_latest(metrics.registry).decode()


def test_invented_shops_stay_unverified_however_many_there_are() -> None:
    metrics = GatewayMetrics()
    for index in range(5_500):
        # The origin refuses an unknown shop with 404 before anything else.
        metrics.origin_answered(f"made-up-{index}", 404)
        assert metrics.shops.label(f"made-up-{index}") == UNVERIFIED_SHOP
    text = exposition(metrics)
    assert "made-up-" not in text
    assert "gateway_shops_known 0.0" in text


def test_a_shop_is_learned_from_an_answer_that_proves_it_exists() -> None:
    metrics = GatewayMetrics()
    for status in (401, 404, 500, 502, 503):
        metrics.origin_answered("cochlearfit", status)
    assert metrics.shops.label("cochlearfit") == UNVERIFIED_SHOP
    metrics.origin_answered("cochlearfit", 409)  # e.g. insufficient stock: the shop exists
    assert metrics.shops.label("cochlearfit") == "cochlearfit"
    assert metrics.shops.label(None) == UNVERIFIED_SHOP
    text = exposition(metrics)
    # Its rate-limit series exist at 0 before the first 429, so the alert sees 0 → 1.
    assert (
        'checkout_rate_limited_total{route="/api/checkout-session",shop="cochlearfit"} 0.0' in text
    )
    assert 'checkout_rate_limited_total{route="/api/stripe-webhook",shop="cochlearfit"}' not in text
    assert "gateway_shops_known 1.0" in text


def test_learned_shops_are_capped() -> None:
    shops = KnownShops(limit=2)
    assert [shops.learn(s) for s in ("a", "b", "c", "a")] == [True, True, False, False]
    assert [shops.label(s) for s in ("a", "b", "c")] == ["a", "b", UNVERIFIED_SHOP]


def test_alerted_series_and_runtime_metrics_exist_from_the_start() -> None:
    metrics = GatewayMetrics()
    metrics.start_series("fallback")
    text = exposition(metrics)
    assert 'gateway_requests_total{route="/api/cart",status="502"} 0.0' in text
    assert 'gateway_ratelimit_fallback_total{decision="allowed",mode="fallback"} 0.0' in text
    assert 'gateway_ratelimit_backend_errors_total{reason="timeout"} 0.0' in text
    assert "process_resident_memory_bytes" in text
    assert "python_info{" in text
    assert 'checkout_edge_build_info{service="gateway",version="' in text
