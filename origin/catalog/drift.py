"""Price drift (docs/api.md §3.3 step 1): did the client's baseline move beyond tolerance?

Pure arithmetic on integer minor units. ``drift = |baseline − repriced|``;
``tolerance = max(DRIFT_ABS, DRIFT_PCT × repriced)``; drift *above* tolerance means the
price changed. What happens then is ``CHECKOUT_REPRICE_POLICY``'s call
(:func:`policy_outcome`). :func:`origin.catalog.pricing.decide_drift` applies this to a quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, get_args

from checkout_edge_shared.money import minor_exponent
from origin.settings import RepricePolicy, Settings

__all__ = [
    "Baseline",
    "DriftDecision",
    "DriftPolicy",
    "drift",
    "drift_exceeds",
    "policy_outcome",
    "tolerance",
]


def drift(baseline: int, repriced: int) -> int:
    """How far the baseline is from the repriced amount, in minor units (symmetric)."""
    return abs(baseline - repriced)


def tolerance(repriced_total: int, abs_minor: int, pct: Decimal) -> int:
    """``max(abs_minor, pct × repriced_total)`` in whole minor units.

    The percentage part is computed exactly (integer arithmetic on the decimal's ratio)
    and rounded *down*. That rounding changes no decision: drift is a whole number, and
    for a whole ``d``, ``d > x`` exactly when ``d > floor(x)``.
    """
    numerator, denominator = pct.as_integer_ratio()
    return max(abs_minor, repriced_total * numerator // denominator)


def drift_exceeds(baseline: int, repriced: int, abs_minor: int, pct: Decimal) -> bool:
    return drift(baseline, repriced) > tolerance(repriced, abs_minor, pct)


@dataclass(frozen=True, slots=True)
class DriftPolicy:
    """``CHECKOUT_REPRICE_POLICY`` and its thresholds, validated when built."""

    mode: RepricePolicy
    abs_major: Decimal
    pct: Decimal

    def __post_init__(self) -> None:
        if self.mode not in get_args(RepricePolicy):
            raise ValueError(f"CHECKOUT_REPRICE_POLICY: unknown policy {self.mode!r}")
        if not self.abs_major.is_finite() or self.abs_major < 0:
            raise ValueError("CHECKOUT_REPRICE_DRIFT_ABS: must be a finite amount ≥ 0")
        if not self.pct.is_finite() or not 0 <= self.pct <= 1:
            raise ValueError("CHECKOUT_REPRICE_DRIFT_PCT: must be a fraction from 0 to 1")

    @classmethod
    def from_settings(cls, settings: Settings) -> DriftPolicy:
        return cls(
            mode=settings.checkout_reprice_policy,
            abs_major=settings.checkout_reprice_drift_abs,
            pct=settings.checkout_reprice_drift_pct,
        )

    def abs_minor(self, currency: str) -> int:
        """``DRIFT_ABS`` in minor units of ``currency`` (0.10 → 10 cents; 0 yen, half-up)."""
        scaled = self.abs_major.scaleb(minor_exponent(currency))
        return int(scaled.quantize(Decimal(1), ROUND_HALF_UP))


def policy_outcome(mode: RepricePolicy, exceeded: bool) -> tuple[bool, bool, bool]:
    """``(priceChanged reported, reject with 409, count the metric)`` for a drift check.

    ``log_only`` counts but reports ``priceChanged: false``; ``enforce_and_proceed``
    reports it; ``enforce_and_reject`` also refuses. The charge is the repriced total
    under every policy.
    """
    if not exceeded:
        return (False, False, False)
    return (mode != "log_only", mode == "enforce_and_reject", True)


@dataclass(frozen=True, slots=True)
class Baseline:
    """What the client believed; ``basis`` says which repriced amount it is compared with."""

    amount: int
    basis: Literal["total", "subtotal"]

    @classmethod
    def choose(
        cls, *, expected_total: int | None, price_at_add_total: int | None
    ) -> Baseline | None:
        """``expectedTotal`` when sent, else the cart's ``Σ priceAtAdd × quantity``, else none."""
        if expected_total is not None:
            return cls(expected_total, "total")
        if price_at_add_total is not None:
            return cls(price_at_add_total, "subtotal")
        return None


@dataclass(frozen=True, slots=True)
class DriftDecision:
    """The outcome of one drift check: the numbers and what the policy makes of them."""

    baseline: int | None
    repriced: int
    drift: int
    tolerance: int
    exceeded: bool
    price_changed: bool
    reject: bool
    count_metric: bool
