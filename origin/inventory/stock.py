"""Stock: the one vocabulary for what is asked of a stock row, and the only statements that
take it and give it back.

A :class:`StockLine` is the total demand on one row of stock — the shop's own ``variants`` row
(pool ``shop``) or a ``central_stock`` row (pool ``central``); a :class:`Shortage` is a variant
asked for beyond its stock; :class:`InsufficientStock` is the 409 that carries shortages, the
same for inventory validation and for a hold.

Taking stock is one conditional ``UPDATE … SET available = available - :q WHERE … AND
available >= :q`` per row, in a fixed order (pool, then id) so two holds never wait on each
other in opposite orders. A zero-row update means not enough stock; the caller's transaction
then rolls back everything taken so far. Functions take ``*, session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from checkout_edge_shared.errors import Conflict
from origin.models import HoldItem
from origin.models.types import UTCDateTime, utcnow
from origin.sql import Sql, statements

Pool = Literal["shop", "central"]


@dataclass(frozen=True, slots=True)
class StockLine:
    """The total demand on one stock row (quantities of one variant already summed)."""

    pool: Pool
    stock_id: int
    sku: str
    variant_key: str
    quantity: int

    @property
    def order_key(self) -> tuple[str, int]:
        return (self.pool, self.stock_id)


@dataclass(frozen=True, slots=True)
class Shortage:
    """A variant asked for beyond its stock (``requested`` summed over the request's lines)."""

    sku: str
    variant_key: str
    requested: int
    available: int

    def to_json(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "variantKey": self.variant_key,
            "requested": self.requested,
            "available": self.available,
        }


class InsufficientStock(Conflict):
    """409 ``INSUFFICIENT_STOCK`` with ``ok: false`` and ``items:[{sku, variantKey, requested,
    available}]``; nothing was held."""

    def __init__(self, shortages: Sequence[Shortage], *, message: str | None = None) -> None:
        super().__init__(
            message or "Not enough stock for some items; nothing was held.",
            code="INSUFFICIENT_STOCK",
            extra={"ok": False, "items": [shortage.to_json() for shortage in shortages]},
        )
        self.shortages = list(shortages)


async def hold_items(*, session: AsyncSession, hold_id: str) -> list[HoldItem]:
    query = select(HoldItem).where(HoldItem.hold_id == hold_id).order_by(HoldItem.id)  # type: ignore[arg-type]
    return list((await session.execute(query)).scalars())


def _stock_statements(table: str) -> tuple[Sql, Sql, Sql]:
    """Take, give back and read ``table``'s stock (a fixed table name, never input)."""
    now = {"now": UTCDateTime()}
    return (
        Sql(
            f"UPDATE {table} SET available = available - :q, updated_at = :now "  # noqa: S608
            "WHERE id = :id AND available >= :q",
            types=now,
        ),
        Sql(
            f"UPDATE {table} SET available = available + :q, updated_at = :now WHERE id = :id",  # noqa: S608
            types=now,
        ),
        Sql(f"SELECT available FROM {table} WHERE id = :id"),  # noqa: S608
    )


# Per pool: (take, give back, read).
_STOCK: dict[str, tuple[Sql, Sql, Sql]] = {
    "shop": _stock_statements("variants"),
    "central": _stock_statements("central_stock"),
}


async def take_stock(*, session: AsyncSession, lines: Sequence[StockLine]) -> None:
    """Decrement every line's stock or raise :class:`InsufficientStock` (caller rolls back)."""
    if not lines:
        return
    run = await statements(session)
    now = utcnow()
    ordered = sorted(lines, key=lambda line: line.order_key)
    for index, line in enumerate(ordered):
        take = _STOCK[line.pool][0]
        if await run.execute(take, {"q": line.quantity, "id": line.stock_id, "now": now}) == 0:
            short = []
            for rest in ordered[index:]:
                row = await run.fetchrow(_STOCK[rest.pool][2], {"id": rest.stock_id})
                available = int(row[0]) if row is not None else 0
                if available < rest.quantity:
                    short.append(Shortage(rest.sku, rest.variant_key, rest.quantity, available))
            raise InsufficientStock(short)


async def give_back_stock(*, session: AsyncSession, lines: Sequence[StockLine]) -> None:
    if not lines:
        return
    run = await statements(session)
    now = utcnow()
    for line in sorted(lines, key=lambda line: line.order_key):
        give_back = _STOCK[line.pool][1]
        await run.execute(give_back, {"q": line.quantity, "id": line.stock_id, "now": now})


async def held_lines(*, session: AsyncSession, hold_id: str) -> list[StockLine]:
    """What ``hold_id`` took, as stock lines."""
    return [
        StockLine(
            pool="shop" if item.pool == "shop" else "central",
            stock_id=_stock_id(item),
            sku=item.sku,
            variant_key=item.variant_key,
            quantity=item.quantity,
        )
        for item in await hold_items(session=session, hold_id=hold_id)
    ]


def _stock_id(item: HoldItem) -> int:
    stock_id = item.variant_id if item.pool == "shop" else item.central_stock_id
    assert stock_id is not None
    return stock_id


def rowcount(result: Any) -> int:
    return int(result.rowcount)


def time_param(session: AsyncSession, value: datetime) -> Any:
    # Raw SQL bypasses the UTCDateTime type, so bind what each dialect stores.
    return value.replace(tzinfo=None) if session.get_bind().dialect.name == "sqlite" else value


def now_param(session: AsyncSession) -> Any:
    return time_param(session, utcnow())
