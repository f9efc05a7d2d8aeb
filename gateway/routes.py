"""The route allowlist: which requests the gateway forwards, as data.

One row per path: the methods it accepts, whether ``x-shop-id`` is required, and its
rate-limit class. Anything not in the table is answered by the gateway (``/healthz``,
``/readyz``, ``/metrics``) or refused with 404; nothing else ever reaches the origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ALLOWLIST",
    "FRONT_DOOR_EXEMPT",
    "GATEWAY_OWNED",
    "LimitClass",
    "RouteRule",
    "ShopRule",
    "find_rule",
    "route_label",
]


class ShopRule(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"


class LimitClass(StrEnum):
    CHECKOUT = "checkout"
    CART = "cart"
    INVENTORY = "inventory"
    STATUS = "status"
    WEBHOOK = "webhook"


@dataclass(frozen=True, slots=True)
class RouteRule:
    path: str
    methods: frozenset[str]
    shop: ShopRule
    limit_class: LimitClass

    @property
    def allow_header(self) -> str:
        return ", ".join(sorted(self.methods))

    @property
    def keyed_by_shop(self) -> bool:
        """Whether the rate-limit key includes the shop (webhooks are keyed by IP only)."""
        return self.limit_class is not LimitClass.WEBHOOK


def _rule(methods: str, path: str, shop: ShopRule, limit_class: LimitClass) -> RouteRule:
    return RouteRule(path, frozenset(methods.split()), shop, limit_class)


REQUIRED, OPTIONAL = ShopRule.REQUIRED, ShopRule.OPTIONAL

ALLOWLIST: tuple[RouteRule, ...] = (
    _rule("POST", "/api/checkout-session", REQUIRED, LimitClass.CHECKOUT),
    # Legacy alias of the same origin handler; it shares the checkout bucket.
    _rule("POST", "/api/checkout/session", REQUIRED, LimitClass.CHECKOUT),
    _rule("GET POST PATCH DELETE", "/api/cart", REQUIRED, LimitClass.CART),
    _rule("POST", "/api/inventory/validate", REQUIRED, LimitClass.INVENTORY),
    _rule("GET", "/api/order-status", REQUIRED, LimitClass.STATUS),
    _rule("POST", "/api/stripe-webhook", OPTIONAL, LimitClass.WEBHOOK),
)

GATEWAY_OWNED: frozenset[str] = frozenset({"/healthz", "/readyz", "/metrics"})
# Probes and Prometheus reach the gateway inside the cluster, not through the front door (and
# Prometheus cannot send the front-door header); GATEWAY_METRICS_TOKEN guards /metrics.
FRONT_DOOR_EXEMPT: frozenset[str] = frozenset({"/healthz", "/readyz", "/metrics"})

_BY_PATH = {rule.path: rule for rule in ALLOWLIST}


def find_rule(path: str) -> RouteRule | None:
    """The allowlist row for ``path`` (exact match: no prefixes, no trailing slashes)."""
    return _BY_PATH.get(path)


def route_label(path: str) -> str:
    """A bounded metrics label for ``path``: the allowlisted or owned path, or 'unmatched'."""
    if path in _BY_PATH or path in GATEWAY_OWNED:
        return path
    return "unmatched"
