"""Phase A in one round trip: claim the intent, take the stock, write the hold — one statement.

The step-by-step phase A (:mod:`origin.checkout.claim`) reads the catalog version, claims the
intent, inserts the hold, takes each stock row and records the items: with ``BEGIN`` and
``COMMIT``, seven round trips. On PostgreSQL, for a checkout whose shop's catalog is cached
and whose stock is all the shop's own, the same writes are one statement of data-modifying
CTEs, run as its own transaction (a cart's lines are read just before, by one statement too:
:mod:`origin.carts.checkout_read`):

1. ``intent`` — the intent row, ``ON CONFLICT DO NOTHING``, written only while the catalog
   version is still the one the request was priced at (the cache's freshness check, made by
   the statement itself). A concurrent request of the same intent waits on its primary key
   until this statement commits, exactly as before; an intent that already exists, or a
   moved catalog, makes every later CTE empty, so nothing is written and the caller takes the
   step-by-step path (a retry, or a reload of the catalog).
2. ``locked`` — the demanded stock rows locked in id order (``ORDER BY … FOR UPDATE``), so two
   holds never wait on each other in opposite orders (the order :mod:`origin.inventory.stock`
   keeps).
3. ``taken`` — the conditional decrement, ``available >= quantity`` checked on the row's
   newest version.
4. ``hold`` and ``items`` — the hold and what it took.

When fewer rows were taken than demanded, ``checkout_edge_require`` (migration 0005) raises
and PostgreSQL undoes the whole statement — the intent, the hold and every row already taken:
the all-or-nothing of the transaction it replaces. Conservation is unchanged: the same
updates, atomically, without the round trips between them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # (no stubs)
from sqlalchemy import JSON
from sqlalchemy.dialects import postgresql

from origin.checkout.intents import IntentKey
from origin.inventory.stock import InsufficientStock, Shortage, StockLine
from origin.models import InventoryHold, metadata
from origin.sql import Sql, Statements

_POSTGRESQL = postgresql.asyncpg.dialect()  # type: ignore[no-untyped-call]
_HOLD_TABLE = metadata.tables["inventory_holds"]
_HOLD_COLUMNS = [column.name for column in _HOLD_TABLE.columns]
# INSERT … SELECT gives its parameters no type: each is cast to its column's.
_HOLD_VALUES = ", ".join(
    f"CAST(:{column.name} AS {column.type.compile(dialect=_POSTGRESQL)})"
    for column in _HOLD_TABLE.columns
)
SHORT = "checkout_edge:insufficient_stock"

_CLAIM_AND_HOLD = Sql(
    f"""
    WITH intent AS (
        INSERT INTO checkout_intents
            (id, shop_id, idempotency_key, fingerprint, cart_id, customer_email, created_at)
        SELECT CAST(:intent_id AS varchar), CAST(:shop_id AS varchar),
               CAST(:idempotency_key AS varchar), CAST(:fingerprint AS varchar),
               CAST(:cart_id AS varchar), CAST(:customer_email AS varchar),
               CAST(:created_at AS timestamptz)
        FROM catalog_version WHERE id = 1 AND version = :catalog_version
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
    SELECT (SELECT count(*) FROM intent),
           (SELECT version FROM catalog_version WHERE id = 1),
           checkout_edge_require(
               NOT EXISTS (SELECT 1 FROM intent)
               OR (SELECT count(*) FROM taken) = cardinality(CAST(:stock_ids AS integer[])),
               '{SHORT}')
    """,  # noqa: S608 (column names and types from the schema, values all bound)
    types={"pricing": JSON()},
)
_AVAILABLE = Sql("SELECT id, available FROM variants WHERE id = ANY(CAST(:ids AS integer[]))")


class Claimed(enum.Enum):
    NEW = "new"  # the intent, the hold and its stock are written
    EXISTS = "exists"  # the intent was there before: nothing written, a retry
    STALE = "stale"  # the catalog moved since it was cached: nothing written


async def claim_and_hold(
    run: Statements,
    *,
    catalog_version: int,
    key: IntentKey,
    cart_id: str | None,
    customer_email: str | None,
    hold: InventoryHold,
    lines: Sequence[StockLine],
) -> Claimed:
    """Claim ``key`` and hold ``lines`` (the shop's own stock) for ``hold`` in one statement,
    on ``run`` from :func:`origin.sql.own_transaction` (it commits on its own);
    :class:`InsufficientStock` when a row could not give its quantity (nothing written)."""
    ordered = sorted(lines, key=lambda line: line.order_key)
    params: dict[str, Any] = {name: getattr(hold, name) for name in _HOLD_COLUMNS}
    params |= {
        "intent_id": key.id,
        "idempotency_key": key.idempotency_key,
        "fingerprint": key.fingerprint,
        "cart_id": cart_id,
        "customer_email": customer_email,
        "catalog_version": catalog_version,
        "stock_ids": [line.stock_id for line in ordered],
        "quantities": [line.quantity for line in ordered],
        "skus": [line.sku for line in ordered],
        "variant_keys": [line.variant_key for line in ordered],
    }
    try:
        row = await run.fetchrow(_CLAIM_AND_HOLD, params)
    except asyncpg.RaiseError as exc:
        if exc.message != SHORT:
            raise
        found = await run.fetch(_AVAILABLE, {"ids": [line.stock_id for line in ordered]})
        available = {int(stock_id): int(count) for stock_id, count in found}
        short = [x for x in ordered if available.get(x.stock_id, 0) < x.quantity]
        # Stock given back since the statement ran: name every line, with what it has now.
        raise InsufficientStock(
            [
                Shortage(x.sku, x.variant_key, x.quantity, available.get(x.stock_id, 0))
                for x in short or ordered
            ]
        ) from None
    assert row is not None  # the final SELECT always answers one row
    if row[0]:
        return Claimed.NEW
    return Claimed.EXISTS if row[1] == catalog_version else Claimed.STALE
