"""Quotas (how much, per how long) and the decisions taken against them.

A :class:`Quota` wraps a ``limits`` rate-limit item so that the rest of the gateway never
handles ``limits`` types; :func:`parse_quota` is the one place the operator's notation
(``120/minute``, ``5/second``) is read and checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import limits
from limits import RateLimitItem

__all__ = ["MAX_QUOTA", "Backend", "Decision", "Quota", "parse_quota"]

# The moving window stores one timestamp per admitted request, so a quota's size bounds the
# memory and the work of every check; larger budgets belong to a coarser tool than this one.
MAX_QUOTA = 10_000


@dataclass(frozen=True, slots=True)
class Quota:
    """``amount`` requests per ``window`` seconds, named after its limit class."""

    name: str
    item: RateLimitItem

    @property
    def amount(self) -> int:
        return self.item.amount

    @property
    def window(self) -> int:
        return self.item.get_expiry()

    def scaled(self, divisor: int) -> Quota:
        """The share of this quota one of ``divisor`` processes may admit on its own."""
        amount = max(1, self.amount // divisor)
        return Quota(self.name, type(self.item)(amount, self.item.multiples))


def parse_quota(name: str, notation: str) -> Quota:
    """Read one limit in the ``limits`` notation; raise ``ValueError`` saying what is wrong."""
    try:
        items = limits.parse_many(notation)
    except ValueError:
        raise ValueError(
            f"{notation!r} is not a rate limit in the limits notation (e.g. '120/minute')"
        ) from None
    if len(items) != 1:
        raise ValueError(f"{notation!r} holds {len(items)} limits; give exactly one")
    item = items[0]
    if not 1 <= item.amount <= MAX_QUOTA:
        raise ValueError(f"{notation!r}: the amount must be between 1 and {MAX_QUOTA}")
    return Quota(name, item)


class Backend(StrEnum):
    """Where a decision came from."""

    REDIS = "redis"  # the shared window: exact across processes
    MEMORY = "memory"  # in-process window by configuration (no Redis URL)
    FALLBACK = "fallback"  # in-process window because Redis failed
    OPEN = "open"  # Redis failed and the failure mode admits without counting


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one check: admitted or not, and the window's state after it."""

    quota: Quota
    allowed: bool
    remaining: int
    reset_after: float  # seconds until the oldest admission in the window leaves it
    backend: Backend
    refused_by: tuple[Quota, ...] = ()  # the windows that were full (class and/or per-IP)
    wait: float = 0.0  # when refused: seconds until every full window has room

    @property
    def known(self) -> bool:
        """False when no window was consulted (failure mode ``open``)."""
        return self.backend is not Backend.OPEN

    @property
    def reset_seconds(self) -> int:
        """``reset_after`` as the whole seconds the RateLimit ``t`` parameter wants."""
        return max(0, math.ceil(self.reset_after))

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait: at least 1, and until every full window has room."""
        if self.refused_by:
            return max(1, math.ceil(self.wait))
        return max(1, self.reset_seconds)
