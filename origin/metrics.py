"""The origin's Prometheus metrics, one registry per app so tests can build many apps.

Labels are bounded by what exists: shops come from the database (a request for an unknown
shop is refused before anything is counted), reasons and classifications from fixed tables
here. :meth:`OriginMetrics.start_series` creates every known series at 0 for the shops that
exist (refreshed with the stock audit, ``origin/monitor.py``), so an alert's ``rate()`` or
``increase()`` sees the very first event instead of a series that appears already at 1.

Hold endings carry a ``reason``: ``paid``, ``paid_after_expiry`` (a late payment took the
stock again), ``expired_by_reaper``, ``expired_at_stripe`` (Stripe's ``expired`` event),
``payment_failed``, ``stripe_definitive`` (Stripe refused to create the session) — so the
hold-expiry alert counts expiries however they were noticed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from checkout_edge_shared.runtime_metrics import register_runtime_metrics

# The internal end reason of a hold (``inventory_holds.end_reason``) → the metric's reason.
HOLD_END_REASONS: dict[str, str] = {
    "ttl": "expired_by_reaper",
    "session_expired": "expired_at_stripe",
    "async_payment_failed": "payment_failed",
    "stripe_definitive_failure": "stripe_definitive",
}
# (to, reason) of every hold ending: the series that exist per shop from the start.
HOLD_ENDINGS: tuple[tuple[str, str], ...] = (
    ("committed", "paid"),
    ("committed", "paid_after_expiry"),
    ("expired", "expired_by_reaper"),
    ("released", "expired_at_stripe"),
    ("released", "payment_failed"),
    ("released", "stripe_definitive"),
)
STRIPE_CLASSIFICATIONS = ("definitive", "unknown")
ATTENTION_REASONS = (
    "stock_not_retaken_after_expiry",
    "amount_mismatch",
    "second_payment_for_hold",
)
AUDIT_KINDS = (
    "committed_hold_without_order",
    "committed_hold_without_session",
    "order_hold_not_committed",
    "order_session_differs_from_hold",
    "several_active_holds_for_one_intent",
)


def _registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


@dataclass
class OriginMetrics:
    registry: CollectorRegistry = field(default_factory=_registry)

    def __post_init__(self) -> None:
        r = self.registry
        register_runtime_metrics(r, "origin")
        self.requests = Counter(
            "origin_requests_total",
            "Requests by route and status",
            ["route", "status"],
            registry=r,
        )
        self.request_duration = Histogram(
            "origin_request_duration_seconds",
            "Request latency by route",
            ["route"],
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.shop_requests = Counter(
            "origin_shop_requests_total",
            "Requests of a shop that exists, by route and status (checkout outcomes by shop)",
            ["shop", "route", "status"],
            registry=r,
        )
        self.reprice_drift = Counter(
            "cart_reprice_drift",
            "Checkouts whose baseline drifted beyond tolerance",
            ["shop", "mode"],
            registry=r,
        )
        self.hold_idempotent_hit = Counter(
            "inventory_hold_idempotent_hit",
            "Checkouts that converged on an existing hold",
            ["shop"],
            registry=r,
        )
        self.hold_orphaned = Counter(
            "inventory_hold_orphaned",
            "Holds released after a definitive Stripe failure",
            ["shop"],
            registry=r,
        )
        self.holds_created = Counter(
            "inventory_holds_created", "Holds created", ["shop", "pool"], registry=r
        )
        self.hold_transitions = Counter(
            "inventory_hold_transitions",
            "Holds that ended, by the state they moved to and why",
            ["shop", "to", "reason"],
            registry=r,
        )
        self.holds_reaped = Counter(
            "inventory_holds_reaped", "Holds expired by the reaper", ["shop"], registry=r
        )
        # recovered | never_created | failed (kept, retried next pass): docs/runbook.md
        self.session_replays = Counter(
            "reaper_session_replays",
            "Reaper replays of a hold's Stripe create call whose session was never recorded",
            ["shop", "outcome"],
            registry=r,
        )
        self.insufficient_stock = Counter(
            "inventory_insufficient_stock",
            "Holds or validations refused for stock",
            ["shop", "route"],
            registry=r,
        )
        self.stripe_classification = Counter(
            "stripe_error_classification",
            "Stripe failures by classification",
            ["classification"],
            registry=r,
        )
        self.stripe_duration = Histogram(
            "stripe_call_duration_seconds",
            "Stripe API call latency",
            ["operation"],
            registry=r,
        )
        self.webhook_events = Counter(
            "webhook_events",
            "Webhook events by type and outcome",
            ["type", "outcome"],
            registry=r,
        )
        self.webhook_tenant_mismatch = Counter(
            "webhook_tenant_mismatch",
            "Webhooks whose x-shop-id differs from the resolved shop",
            registry=r,
        )
        self.webhook_tenant_unresolvable = Counter(
            "webhook_tenant_unresolvable",
            "Webhooks whose shop could not be resolved",
            registry=r,
        )
        self.orders_flagged = Counter(
            "orders_needs_attention",
            "Orders flagged needs_attention",
            ["shop", "reason"],
            registry=r,
        )
        self.central_fallback = Counter(
            "inventory_central_fallback",
            "Central inventory unavailable; shop stock used",
            ["shop", "env"],
            registry=r,
        )
        self.central_fail_closed = Counter(
            "inventory_central_fail_closed",
            "Central inventory unavailable; request refused",
            ["shop", "env"],
            registry=r,
        )
        self.central_retake_failed = Counter(
            "inventory_central_retake_failed",
            "Paid holds whose central stock could not be taken again (separate central DB)",
            ["shop"],
            registry=r,
        )
        self._monitoring(r)
        for classification in STRIPE_CLASSIFICATIONS:
            self.stripe_classification.labels(classification)

    def _monitoring(self, r: CollectorRegistry) -> None:
        self.units_held = Gauge(
            "inventory_units_held",
            "Units held by active holds now (refreshed with the stock audit)",
            ["shop"],
            registry=r,
        )
        self.reaper_last_success = Gauge(
            "inventory_hold_reaper_last_success_timestamp_seconds",
            "When this process's reaper last finished a pass without error (0: never)",
            registry=r,
        )
        self.audit_last_success = Gauge(
            "inventory_audit_last_success_timestamp_seconds",
            "When this process last completed the stock and order audit (0: never)",
            registry=r,
        )
        self.conservation_imbalances = Gauge(
            "inventory_conservation_imbalances",
            "Stock rows whose stocked units differ from available + held + sold",
            ["pool"],
            registry=r,
        )
        self.audit_violations = Gauge(
            "orders_audit_violations",
            "Order/hold/session invariants broken, by kind, at the last audit",
            ["kind"],
            registry=r,
        )
        for pool in ("shop", "central"):
            self.conservation_imbalances.labels(pool)
        for kind in AUDIT_KINDS:
            self.audit_violations.labels(kind)

    def start_request_series(self, routes: Iterable[str], event_types: Iterable[str]) -> None:
        """At 0: the 5xx series of every API route (the error-ratio alert) and the outcomes
        of every handled webhook event type (the dashboards)."""
        for route in routes:
            for status in ("500", "502", "503"):
                self.requests.labels(route, status)
        for event_type in event_types:
            for outcome in ("processed", "duplicate", "ignored"):
                self.webhook_events.labels(event_type, outcome)

    def hold_ended(self, shop: str, to: str, reason: str) -> None:
        """Count a hold ending; ``reason`` is the hold's end reason or a metric reason."""
        self.hold_transitions.labels(shop, to, HOLD_END_REASONS.get(reason, reason)).inc()

    def start_series(self, shops: Iterable[str], *, reprice_mode: str, env: str) -> None:
        """Create every per-shop series at 0 (idempotent; new shops are added on refresh)."""
        for shop in shops:
            self.holds_created.labels(shop, "shop")
            self.holds_reaped.labels(shop)
            self.hold_idempotent_hit.labels(shop)
            self.hold_orphaned.labels(shop)
            self.reprice_drift.labels(shop, reprice_mode)
            self.units_held.labels(shop)
            self.central_fallback.labels(shop, env)
            self.central_fail_closed.labels(shop, env)
            for route in ("checkout", "validate"):
                self.insufficient_stock.labels(shop, route)
            for to, reason in HOLD_ENDINGS:
                self.hold_transitions.labels(shop, to, reason)
            for reason in ATTENTION_REASONS:
                self.orders_flagged.labels(shop, reason)
            for outcome in ("recovered", "never_created", "failed"):
                self.session_replays.labels(shop, outcome)
