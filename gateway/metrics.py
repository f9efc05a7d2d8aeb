"""The gateway's Prometheus metrics, in a registry of their own per app.

A registry per app (not the process-global one) lets tests build many apps in one process;
``checkout_edge_shared/runtime_metrics.py`` adds the process, Python and build-info metrics to it.

Label values are bounded. Routes come from the allowlist. Shop ids arrive from clients, and
the gateway does not know which shops exist — the origin does: a shop becomes a label value
once the origin has answered a forwarded request for it with anything but 401, 404 or a 5xx
(the origin refuses an unknown shop with 404 before any other check). Until then, and for
invented shops, the shop label is ``_unverified``; at most ``MAX_SHOP_LABELS`` shops are
learned per process. A learned shop's ``checkout_rate_limited_total`` series start at 0, as do
the error statuses of every route, so an alert's ``rate()`` sees the very first event.
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from checkout_edge_shared.runtime_metrics import register_runtime_metrics
from gateway.routes import ALLOWLIST

__all__ = ["MAX_SHOP_LABELS", "UNVERIFIED_SHOP", "GatewayMetrics", "KnownShops"]

MAX_SHOP_LABELS = 1000
UNVERIFIED_SHOP = "_unverified"
# Statuses whose series exist from the start on every allowlisted route: what alerts watch.
_ALERTED_STATUSES = ("429", "500", "502", "503", "504")
# Origin answers that do not prove the shop exists: token refused, unknown shop, failures.
_UNPROVEN = frozenset({401, 404})

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


class KnownShops:
    """Shops the origin has answered for; ``label`` maps any other shop to ``_unverified``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def label(self, shop: str | None) -> str:
        return shop if shop is not None and shop in self._known else UNVERIFIED_SHOP

    def learn(self, shop: str) -> bool:
        """Record a shop the origin answered for; True the first time (and while below the cap)."""
        if shop in self._known:
            return False
        with self._lock:
            if shop in self._known or len(self._known) >= self._limit:
                return False
            self._known.add(shop)
            return True


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
        register_runtime_metrics(self.registry, "gateway")
        self.shops = KnownShops(MAX_SHOP_LABELS)
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
        self.shops_known = Gauge(
            "gateway_shops_known",
            "Shops the origin has answered for since start (the shop label's values).",
            registry=r,
        )

    def start_series(self, failure_mode: str) -> None:
        """Create at 0 the series alerts watch, so the first event is a visible increase."""
        for rule in ALLOWLIST:
            for status in _ALERTED_STATUSES:
                self.requests.labels(rule.path, status)
            self.rate_limited.labels(UNVERIFIED_SHOP, rule.path)
        for reason in ("error", "timeout"):
            self.ratelimit_backend_errors.labels(reason)
        for decision in ("allowed", "limited", "rejected"):
            self.ratelimit_fallback.labels(failure_mode, decision)

    def origin_answered(self, shop: str | None, status: int) -> None:
        """Learn ``shop`` from an origin answer that proves it exists (see the module doc)."""
        if shop is None or status in _UNPROVEN or status >= 500:
            return
        if self.shops.learn(shop):
            self.shops_known.inc()
            for rule in ALLOWLIST:
                if rule.keyed_by_shop:
                    self.rate_limited.labels(shop, rule.path)
                    self.shadow_limited.labels(shop, rule.path)
