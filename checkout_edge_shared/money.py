"""Money: an integer count of a currency's minor units plus the currency code.

There are no floats on the money path. The only conversion from major units (the
operator's ``CHECKOUT_REPRICE_DRIFT_ABS=0.10``) goes through :func:`minor_from_major`, which
parses a decimal string exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["CurrencyMismatch", "Money", "minor_from_major", "percent_of"]

_CURRENCY = re.compile(r"^[a-z]{3}$")

# Currencies without minor units (ISO 4217 exponent 0) as Stripe lists them.
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)


class CurrencyMismatch(ValueError):
    """Two amounts of different currencies were combined."""


def minor_exponent(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL else 2


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int:
            raise TypeError("Money.amount must be an int of minor units")
        if not _CURRENCY.match(self.currency):
            raise ValueError(f"currency must be a lower-case ISO code, got {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        if type(factor) is not int:
            raise TypeError("Money can only be multiplied by an int")
        return Money(self.amount * factor, self.currency)

    def clamp_zero(self) -> Money:
        return self if self.amount >= 0 else Money(0, self.currency)


def percent_of(amount: int, percent: Decimal) -> int:
    """``percent`` % of ``amount`` minor units, rounded half-up to a whole minor unit."""
    return int((Decimal(amount) * percent / Decimal(100)).quantize(Decimal(1), ROUND_HALF_UP))


def minor_from_major(value: str | Decimal, currency: str = "usd") -> int:
    """Exact conversion of a major-unit decimal (``"0.10"``) to minor units (``10``)."""
    try:
        major = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {value!r}") from None
    scaled = major.scaleb(minor_exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value!r} is finer than one minor unit of {currency}")
    return int(scaled)
