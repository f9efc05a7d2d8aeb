"""Phase A's writes as one PostgreSQL statement: claim the intent, take the stock, write the hold.

The usual phase A (:mod:`origin.checkout.claim`) claims the intent, then inserts the hold,
takes each stock row and records the items — four round trips inside the transaction. On
PostgreSQL, for a checkout whose stock is all the shop's own (no central pool to route to),
the same writes are one statement of data-modifying CTEs:

1. ``intent`` — the intent row, ``ON CONFLICT DO NOTHING``. A concurrent request of the same
   intent waits on its primary key until this transaction ends, exactly as before; an intent
   that already exists makes every later CTE empty, so nothing else is written and the caller
   continues as a retry.
2. ``locked`` — the demanded stock rows locked in id order (``ORDER BY … FOR UPDATE``), so two
   holds never wait on each other in opposite orders (the order :mod:`origin.inventory.stock`
   keeps).
3. ``taken`` — the conditional decrement, ``available >= quantity`` re-checked on the row's
   newest version.
4. ``hold`` and ``items`` — the hold and what it took.

The statement answers whether the intent was new and how many rows were taken. Fewer rows
than demanded is a shortage: the caller raises :class:`InsufficientStock` and its transaction
rolls every write of the statement back. Conservation is therefore the same as with the
separate statements — the same updates in the same transaction — only without the round trips
between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from origin.checkout.intents import IntentKey
from origin.inventory.stock import InsufficientStock, Shortage, StockLine
from origin.models import InventoryHold, metadata
from origin.models.types import utcnow
from origin.sql import Sql, statements

_POSTGRESQL = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
_HOLD_TABLE = metadata.tables["inventory_holds"]
_HOLD_COLUMNS = [column.name for column in _HOLD_TABLE.columns]
# INSERT … SELECT gives its parameters no type: each is cast to its column's.
_HOLD_VALUES = ", ".join(
    f"CAST(:{column.name} AS {column.type.compile(dialect=_POSTGRESQL)})"
    for column in _HOLD_TABLE.columns
)

_CLAIM_AND_HOLD = Sql(
    f"""
    WITH intent AS (
        INSERT INTO checkout_intents
            (id, shop_id, idempotency_key, fingerprint, cart_id, customer_email, created_at)
        VALUES (:intent_id, :shop_id, :idempotency_key, :fingerprint, :cart_id,
                :customer_email, :created_at)
        ON CONFLICT (id) DO NOTHING
        RETURNING id
    ),
    demand AS (
        SELECT * FROM unnest(CAST(:stock_ids AS integer[]), CAST(:quantities AS integer[]),
                             CAST(:skus AS varchar[]), CAST(:variant_keys AS varchar[]))
            AS d(stock_id, quantity, sku, variant_key)
    ),
    locked AS (
        SELECT id FROM variants
        WHERE id IN (SELECT stock_id FROM demand) AND EXISTS (SELECT 1 FROM intent)
        ORDER BY id
        FOR UPDATE
    ),
    taken AS (
        UPDATE variants AS v
        SET available = v.available - demand.quantity, updated_at = :created_at
        FROM demand, locked
        WHERE v.id = demand.stock_id AND v.id = locked.id AND v.available >= demand.quantity
        RETURNING v.id
    ),
    hold AS (
        INSERT INTO inventory_holds ({", ".join(_HOLD_COLUMNS)})
        SELECT {_HOLD_VALUES} FROM intent
        RETURNING id
    ),
    items AS (
        INSERT INTO hold_items (hold_id, pool, variant_id, sku, variant_key, quantity)
        SELECT hold.id, 'shop', demand.stock_id, demand.sku, demand.variant_key, demand.quantity
        FROM hold, demand
    )
    SELECT (SELECT count(*) FROM intent), (SELECT array_agg(id) FROM taken)
    """,  # noqa: S608 (column names and types from the schema, values all bound)
    types={"pricing": JSON()},
)
_AVAILABLE = Sql("SELECT id, available FROM variants WHERE id = ANY(CAST(:ids AS integer[]))")


def applies(session: AsyncSession, lines: Sequence[StockLine], *, remote_pool: object) -> bool:
    """Whether this statement can take ``lines``: PostgreSQL, the shop's own stock only."""
    return (
        remote_pool is None
        and session.get_bind().dialect.driver == "asyncpg"
        and all(line.pool == "shop" for line in lines)
    )


async def claim_and_hold(
    session: AsyncSession,
    *,
    key: IntentKey,
    cart_id: str | None,
    customer_email: str | None,
    hold: InventoryHold,
    lines: Sequence[StockLine],
) -> bool:
    """Claim ``key`` and hold ``lines`` for ``hold`` in the caller's transaction.

    False when the intent already existed (nothing was written); raises
    :class:`InsufficientStock` when a row could not give its quantity (the caller's
    transaction must roll back: some rows may have been taken).
    """
    ordered = sorted(lines, key=lambda line: line.order_key)
    params: dict[str, Any] = {name: getattr(hold, name) for name in _HOLD_COLUMNS}
    params |= {
        "intent_id": key.id,
        "idempotency_key": key.idempotency_key,
        "fingerprint": key.fingerprint,
        "cart_id": cart_id,
        "customer_email": customer_email,
        "created_at": hold.created_at or utcnow(),
        "stock_ids": [line.stock_id for line in ordered],
        "quantities": [line.quantity for line in ordered],
        "skus": [line.sku for line in ordered],
        "variant_keys": [line.variant_key for line in ordered],
    }
    run = await statements(session)
    row = await run.fetchrow(_CLAIM_AND_HOLD, params)
    assert row is not None  # the final SELECT always answers one row
    if not row[0]:
        return False
    taken = set(row[1] or ())
    short = [line for line in ordered if line.stock_id not in taken]
    if short:
        # The rows not taken were not touched by this transaction: what they hold now.
        found = await run.fetch(_AVAILABLE, {"ids": [line.stock_id for line in short]})
        available = {int(stock_id): int(count) for stock_id, count in found}
        raise InsufficientStock(
            [
                Shortage(line.sku, line.variant_key, line.quantity, available.get(line.stock_id, 0))
                for line in short
            ]
        )
    return True
