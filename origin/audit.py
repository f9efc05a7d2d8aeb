"""The stock and order audit: checks a live database without holding it up.

Conservation, for every stock row (a shop's variant, or a central-pool row)::

    stocked = available + Σ active hold items + Σ committed hold items

``stocked`` is the row's baseline: the stock the catalog seeded it with, re-based by
``seed --reset-stock`` (``rebase_stocked``) to the new stock plus what is held or sold at that
moment. Every later move of ``available`` is paired, in the same transaction, with a hold
status change that moves the same units between the sums, so any difference means stock was
lost or invented — an oversell in the making.

Order/hold/session invariants, checked in the origin's database: a committed hold has its
order and its Stripe session; an order's hold is committed, unless the order was flagged
``needs_attention`` (a payment after expiry whose stock could not be taken again); an order
and its hold name the same Stripe session; at most one active hold per intent.

Each check is one read-only ``SELECT``: PostgreSQL answers it from one snapshot under READ
COMMITTED, so the sums and ``available`` agree with each other, and it takes no lock a checkout
waits for. ``lock_timeout`` keeps it from queueing behind a migration (and everything else
behind it); ``statement_timeout`` bounds it. A failing query raises; nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "AuditReport",
    "Imbalance",
    "Violation",
    "audit_orders",
    "audit_stock",
    "rebase_stocked",
    "units_held",
]

Pool = Literal["shop", "central"]

# One statement per pool; the tables are fixed, never from input. ``{held}`` lists what holds
# stock of the pool: hold items, and for the central pool also the reservations a separate
# central database keeps (origin.inventory.reservations) — each database has one or the other.
_CONSERVATION = """
SELECT s.id, {shop} AS shop_id, s.variant_key, s.stocked, s.available,
       COALESCE(SUM(CASE WHEN u.status = 'active' THEN u.quantity END), 0) AS held,
       COALESCE(SUM(CASE WHEN u.status = 'committed' THEN u.quantity END), 0) AS sold
FROM {table} s
LEFT JOIN ({held}) u ON u.stock_id = s.id
GROUP BY s.id, s.variant_key, s.stocked, s.available{group}
HAVING s.stocked <> s.available
    + COALESCE(SUM(CASE WHEN u.status = 'active' THEN u.quantity END), 0)
    + COALESCE(SUM(CASE WHEN u.status = 'committed' THEN u.quantity END), 0)
ORDER BY s.id
"""
_HOLD_ITEMS = (
    "SELECT i.{column} AS stock_id, i.quantity, h.status "
    "FROM hold_items i JOIN inventory_holds h ON h.id = i.hold_id"
)
_RESERVATIONS = (
    "SELECT r.central_stock_id AS stock_id, r.quantity, c.status "
    "FROM central_reservation_items r JOIN central_reservations c ON c.hold_id = r.hold_id"
)
_POOLS: dict[Pool, dict[str, str]] = {
    "shop": {
        "table": "variants",
        "shop": "s.shop_id",
        "group": ", s.shop_id",
        "held": _HOLD_ITEMS.format(column="variant_id"),
    },
    "central": {
        "table": "central_stock",
        "shop": "''",
        "group": "",
        "held": _HOLD_ITEMS.format(column="central_stock_id") + " UNION ALL " + _RESERVATIONS,
    },
}

_HELD_NOW = """
SELECT h.shop_id, COALESCE(SUM(i.quantity), 0)
FROM inventory_holds h JOIN hold_items i ON i.hold_id = h.id
WHERE h.status = 'active' GROUP BY h.shop_id
"""

# (kind, statement): each row it returns is one violation, described by (shop, subject).
_ORDER_CHECKS: tuple[tuple[str, str], ...] = (
    (
        "committed_hold_without_order",
        "SELECT h.shop_id, h.id FROM inventory_holds h LEFT JOIN orders o ON o.hold_id = h.id "
        "WHERE h.status = 'committed' AND o.id IS NULL",
    ),
    (
        "committed_hold_without_session",
        "SELECT shop_id, id FROM inventory_holds "
        "WHERE status = 'committed' AND stripe_session_id IS NULL",
    ),
    (
        "order_hold_not_committed",
        "SELECT o.shop_id, o.id FROM orders o JOIN inventory_holds h ON h.id = o.hold_id "
        "WHERE h.status <> 'committed' AND NOT o.needs_attention",
    ),
    (
        "order_session_differs_from_hold",
        "SELECT o.shop_id, o.id FROM orders o JOIN inventory_holds h ON h.id = o.hold_id "
        "WHERE h.stripe_session_id IS NULL OR h.stripe_session_id <> o.stripe_session_id",
    ),
    (
        "several_active_holds_for_one_intent",
        "SELECT shop_id, intent_id FROM inventory_holds WHERE status = 'active' "
        "GROUP BY shop_id, intent_id HAVING COUNT(*) > 1",
    ),
)


@dataclass(frozen=True, slots=True)
class Imbalance:
    """A stock row whose units do not add up; ``missing`` > 0 means units vanished."""

    pool: Pool
    stock_id: int
    shop_id: str
    variant_key: str
    stocked: int
    available: int
    held: int
    sold: int

    @property
    def missing(self) -> int:
        return self.stocked - (self.available + self.held + self.sold)

    def fields(self) -> dict[str, str | int]:
        return {
            "pool": self.pool,
            "shop": self.shop_id,
            "variantKey": self.variant_key,
            "stocked": self.stocked,
            "available": self.available,
            "held": self.held,
            "sold": self.sold,
            "missing": self.missing,
        }

    def describe(self) -> str:
        where = f"{self.shop_id} {self.variant_key}" if self.shop_id else self.variant_key
        return (
            f"{self.pool} stock {where}: stocked {self.stocked} but available {self.available}"
            f" + held {self.held} + sold {self.sold} = {self.available + self.held + self.sold}"
            f" ({self.missing:+d} missing)"
        )


@dataclass(frozen=True, slots=True)
class Violation:
    kind: str
    shop_id: str
    subject: str


@dataclass
class AuditReport:
    imbalances: list[Imbalance] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    checked_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return not self.imbalances and not self.violations


async def _bound(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET TRANSACTION READ ONLY"))
        await session.execute(text("SET LOCAL lock_timeout = '2s'"))
        await session.execute(text("SET LOCAL statement_timeout = '60s'"))


async def audit_stock(session: AsyncSession, *, pools: tuple[Pool, ...]) -> list[Imbalance]:
    """Rows of ``pools`` that break conservation. Call inside a fresh transaction."""
    await _bound(session)
    found: list[Imbalance] = []
    for pool in pools:
        rows = await session.execute(text(_CONSERVATION.format(**_POOLS[pool])))
        found.extend(
            Imbalance(pool, int(r[0]), str(r[1]), str(r[2]), *(int(v) for v in r[3:])) for r in rows
        )
    return found


async def audit_orders(session: AsyncSession) -> list[Violation]:
    """Order/hold/session invariants broken in the origin's database."""
    await _bound(session)
    found: list[Violation] = []
    for kind, statement in _ORDER_CHECKS:
        rows = await session.execute(text(statement))
        found.extend(Violation(kind, str(shop), str(subject)) for shop, subject in rows)
    return found


async def units_held(session: AsyncSession) -> dict[str, int]:
    """Units held by active holds right now, per shop."""
    rows = await session.execute(text(_HELD_NOW))
    return {str(shop): int(units) for shop, units in rows}


async def rebase_stocked(session: AsyncSession, *, pool: Pool, stock_id: int) -> None:
    """After an operator sets ``available``: the baseline is that plus what is held or sold."""
    spec = _POOLS[pool]
    await session.execute(
        text(
            f"UPDATE {spec['table']} SET stocked = available + ("  # noqa: S608 (fixed names)
            f"SELECT COALESCE(SUM(u.quantity), 0) FROM ({spec['held']}) u "
            "WHERE u.stock_id = :id AND u.status IN ('active', 'committed')) "
            "WHERE id = :id"
        ),
        {"id": stock_id},
    )
