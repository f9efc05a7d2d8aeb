"""The gateway's Prometheus metrics, in a registry of their own per app.

A registry per app (not the process-global one) lets tests build many apps in one process.
Label values are bounded: routes come from the allowlist, and shop ids — which arrive from
clients — are capped by :class:`BoundedLabel` so a stream of made-up shops cannot grow the
series without limit.
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["MAX_SHOP_LABELS", "BoundedLabel", "GatewayMetrics"]

MAX_SHOP_LABELS = 500
OVERFLOW_LABEL = "_other"

_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
_REDIS_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)


class BoundedLabel:
    """Passes the first ``limit`` distinct values through; later new ones become ``_other``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) < self._limit:
                self._seen.add(value)
                return value
        return OVERFLOW_LABEL


class GatewayMetrics:
    """Every metric the gateway exposes at ``/metrics``."""

    def child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, memoised: the hot path observes a handful of series,
        and prometheus_client's ``labels`` takes a lock and validates on every call."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def __init__(self) -> None:
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.shop_label = BoundedLabel(MAX_SHOP_LABELS)
        r = self.registry
        self.requests = Counter(
            "gateway_requests",
            "Responses sent, by allowlisted route (or 'unmatched') and status.",
            ["route", "status"],
            registry=r,
        )
        self.request_duration = Histogram(
            "gateway_request_duration_seconds",
            "Time from request start to the last body byte sent.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_duration = Histogram(
            "gateway_upstream_duration_seconds",
            "Time from sending to the origin until its response headers (or the failure).",
            ["route", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.rate_limited = Counter(
            "checkout_rate_limited",
            "Requests refused with 429 by the rate limit.",
            ["shop", "route"],
            registry=r,
        )
        self.shadow_limited = Counter(
            "gateway_ratelimit_shadow_limited",
            "Requests admitted in shadow mode that the rate limit would have refused.",
            ["shop", "route"],
            registry=r,
        )
        self.ratelimit_backend_errors = Counter(
            "gateway_ratelimit_backend_errors",
            "Failed rate-limit calls to Redis (timeout or error).",
            ["reason"],
            registry=r,
        )
        self.ratelimit_fallback = Counter(
            "gateway_ratelimit_fallback",
            "Rate-limit decisions taken without Redis, by failure mode and decision.",
            ["mode", "decision"],
            registry=r,
        )
        self.ratelimit_breaker_open = Gauge(
            "gateway_ratelimit_breaker_open",
            "1 while the Redis circuit breaker skips Redis, else 0.",
            registry=r,
        )
        self.redis_call_duration = Histogram(
            "gateway_redis_call_duration_seconds",
            "Duration of rate-limit calls to Redis, by outcome (ok, error, timeout).",
            ["outcome"],
            buckets=_REDIS_BUCKETS,
            registry=r,
        )
