"""The origin's Prometheus metrics, one registry per app so tests can build many apps."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram


def _registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


@dataclass
class OriginMetrics:
    registry: CollectorRegistry = field(default_factory=_registry)

    def __post_init__(self) -> None:
        r = self.registry
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
            "inventory_hold_transitions", "Hold state changes", ["shop", "to"], registry=r
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
