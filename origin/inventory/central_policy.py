"""Central inventory: the pool shared by shops (docs/api.md §3.6, plan COM-401, decision COM-D03).

Routing is per (shop, SKU): a SKU allocated to the shop (``central_allocations``) is validated
and held against ``central_stock``, shared by every shop it is allocated to; any other SKU uses
the shop's own variants. Callers name each variant as a :class:`VariantRef` — the SKU their
line carries and its variant key — so routing never parses a SKU back out of a key. The pool
is *unavailable* when

- its database cannot be reached (refused, dropped, or silent beyond
  ``CENTRAL_INVENTORY_TIMEOUT_SECONDS``) — ``unreachable``;
- a query on it fails (a missing table, a constraint) — ``query_failed``;
- routing is missing: a shop with ``requiresCentralInventory`` asks for a SKU not allocated to
  it (``no_allocation``), or an allocated SKU's variant has no central row
  (``no_central_stock``).

The policy (ADR 0003, COM-D03 Option A) then decides, once per request, logged with the reason:

    ENFORCE_CENTRAL_INVENTORY and ORIGIN_ENV=production and the shop requires central
        → fail closed: 503 INVENTORY_UNAVAILABLE, nothing held,
          inventory_central_fail_closed_total{shop,env} +1
    any other combination
        → the affected variants use the shop's own stock,
          inventory_central_fallback_total{shop,env} +1

Where the pool lives: in the origin's database (default) it is read and taken in the caller's
transaction (pool ``central`` in :mod:`origin.inventory.hold_states`), so conservation is
exact; in a database of its own see :mod:`origin.inventory.central_pool`. The lifespan builds one
:class:`CentralInventory` (:meth:`CentralInventory.open`) and hands it to whoever needs it as
an argument: :func:`origin.inventory.validation.available_stock` and
:func:`origin.inventory.routing.stock_lines_for` route with it, and the hold functions of
:mod:`origin.inventory.hold_states` take its :attr:`CentralInventory.remote_pool`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from checkout_edge_shared.errors import Unavailable
from origin.catalog.cache import ShopCatalog
from origin.catalog.catalog_file import Catalog, CentralEntry
from origin.catalog.values import ShopProfile
from origin.inventory.central_pool import (
    CentralDatabase,
    CentralPoolUnavailable,
    Reason,
    central_engine,
    describe,
)
from origin.metrics import OriginMetrics
from origin.models import CentralAllocation, CentralStock
from origin.settings import Settings

__all__ = [
    "CentralInventory",
    "CentralPolicy",
    "CentralRow",
    "InventoryUnavailable",
    "Routing",
    "VariantRef",
    "central_catalog",
]

log = logging.getLogger("origin.central")

RETRY_AFTER_SECONDS = "5"


class InventoryUnavailable(Unavailable):
    """503 ``INVENTORY_UNAVAILABLE``: the shop sells only from the central pool, which is down."""

    def __init__(self) -> None:
        super().__init__(
            "Central inventory is unavailable and this shop sells only from it; nothing was "
            "held. Retry shortly.",
            code="INVENTORY_UNAVAILABLE",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )


@dataclass(frozen=True, slots=True)
class CentralPolicy:
    """COM-D03 Option A: who must refuse rather than fall back to its own stock."""

    enforce: bool
    env: str

    def fails_closed(self, shop: ShopProfile) -> bool:
        return self.enforce and self.env == "production" and shop.requires_central_inventory


@dataclass(frozen=True, slots=True)
class CentralRow:
    id: int
    variant_key: str
    available: int


@dataclass(frozen=True, slots=True)
class Routing:
    """The variant keys the central pool serves; every other key uses the shop's stock."""

    central: Mapping[str, CentralRow]


@dataclass(frozen=True, slots=True)
class VariantRef:
    """A variant routing is asked about: ``sku`` is what allocations name, ``variant_key``
    what stock rows name. Callers know both (``LineRequest``), so neither is derived."""

    sku: str
    variant_key: str


def central_catalog(catalog: Catalog) -> Catalog:
    """What a separate central database is seeded with: the shops (allocations refer to
    them) and the ``central`` section, no products or coupons."""
    return catalog.model_copy(
        update={
            "products": [],
            "coupons": [],
            "central": CentralEntry(
                allocations=list(catalog.central.allocations), stock=list(catalog.central.stock)
            ),
        }
    )


async def _read_pool(
    session: AsyncSession, *, shop_id: str, skus: Mapping[str, str]
) -> tuple[set[str], dict[str, CentralRow]]:
    """The SKUs of ``skus`` (variant key → SKU) allocated to the shop, and the central rows
    of their variants."""
    allocated = set(
        (
            await session.execute(
                select(CentralAllocation.sku).where(
                    col(CentralAllocation.shop_id) == shop_id,
                    col(CentralAllocation.sku).in_(sorted(set(skus.values()))),
                )
            )
        ).scalars()
    )
    wanted = [key for key, sku in skus.items() if sku in allocated]
    rows: dict[str, CentralRow] = {}
    if wanted:
        result = await session.execute(
            select(CentralStock.id, CentralStock.variant_key, CentralStock.available).where(
                col(CentralStock.variant_key).in_(wanted)
            )
        )
        for row_id, key, available in result:
            rows[key] = CentralRow(id=row_id, variant_key=key, available=available)
    return allocated, rows


class CentralInventory:
    """The central pool's routing and policy, and its separate database when it has one."""

    def __init__(self, *, settings: Settings, metrics: OriginMetrics) -> None:
        self.policy = CentralPolicy(
            enforce=settings.enforce_central_inventory, env=settings.origin_env
        )
        self.metrics = metrics
        self.database: CentralDatabase | None = None

    @classmethod
    def open(
        cls,
        settings: Settings,
        metrics: OriginMetrics,
        *,
        sessions: async_sessionmaker[AsyncSession],
    ) -> CentralInventory:
        """The lifespan's constructor, with its own engine if the pool has a database of its
        own (``CENTRAL_INVENTORY_DATABASE_URL`` other than the origin's); ``sessions`` are the
        origin's, which that database's follow-ups read.
        """
        inventory = cls(settings=settings, metrics=metrics)
        url = settings.central_inventory_database_url
        if url is not None and url != settings.database_url:
            timeout = settings.central_inventory_timeout_seconds
            inventory.database = CentralDatabase(
                central_engine(url, timeout=timeout),
                timeout=timeout,
                sync_interval=settings.central_inventory_sync_interval_seconds,
                metrics=metrics,
                origin_sessions=sessions,
                on_unavailable=inventory.unavailable,
            )
        return inventory

    @property
    def remote_pool(self) -> CentralDatabase | None:
        """The pool's own database, for the hold functions; None when it is the origin's."""
        return self.database

    def start(self) -> None:
        """Start the separate database's follow-up worker (nothing to run for the origin's)."""
        if self.database is not None:
            self.database.start()

    async def aclose(self) -> None:
        if self.database is not None:
            await self.database.aclose()

    def unavailable(
        self, shop: ShopProfile, reason: Reason, keys: Iterable[str], detail: str
    ) -> None:
        """Apply the policy: raise :class:`InventoryUnavailable`, or count a fallback."""
        env = self.policy.env
        extra = {
            "shop": shop.id,
            "env": env,
            "reason": reason,
            "variantKeys": sorted(keys),
            "detail": detail,
            "requiresCentralInventory": shop.requires_central_inventory,
        }
        if self.policy.fails_closed(shop):
            self.metrics.central_fail_closed.labels(shop.id, env).inc()
            log.warning("central inventory unavailable: refused (fail closed)", extra=extra)
            raise InventoryUnavailable()
        self.metrics.central_fallback.labels(shop.id, env).inc()
        log.warning("central inventory unavailable: shop stock used (fallback)", extra=extra)

    def routes_locally(self, catalog: ShopCatalog) -> bool:
        """Whether every variant of ``catalog``'s shop is its own stock, known without a query:
        the pool lives in the origin's database and the shop neither has an allocation nor
        requires the pool."""
        return (
            self.database is None
            and catalog.allocated_skus == frozenset()
            and not catalog.shop.requires_central_inventory
        )

    async def route(
        self,
        session: AsyncSession,
        *,
        shop: ShopProfile,
        variants: Iterable[VariantRef],
        catalog: ShopCatalog | None,
    ) -> Routing:
        """Which of ``variants`` the central pool serves for ``shop`` (by key), policy applied.

        With the shop's cached ``catalog``, a shop that :meth:`routes_locally` is routed without
        a query: all its stock is its own.
        """
        skus = dict(sorted((variant.variant_key, variant.sku) for variant in variants))
        keys = list(skus)
        if not keys:
            return Routing({})
        if catalog is not None and self.routes_locally(catalog):
            return Routing({})
        try:
            allocated, rows = await self._read(session, shop_id=shop.id, skus=skus)
        except CentralPoolUnavailable as exc:
            self.unavailable(shop, exc.reason, keys, exc.detail)
            return Routing({})
        unstocked = [key for key in keys if skus[key] in allocated and key not in rows]
        unallocated = [
            key for key in keys if shop.requires_central_inventory and skus[key] not in allocated
        ]
        if unstocked:
            detail = "an allocated SKU's variant has no central stock row"
            self.unavailable(shop, "no_central_stock", unstocked + unallocated, detail)
        elif unallocated:
            detail = "SKU not allocated to this shop in the central pool"
            self.unavailable(shop, "no_allocation", unallocated, detail)
        return Routing({key: rows[key] for key in keys if key in rows})

    async def _read(
        self, session: AsyncSession, *, shop_id: str, skus: Mapping[str, str]
    ) -> tuple[set[str], dict[str, CentralRow]]:
        if self.database is not None:
            async with self.database.transaction() as central:
                return await _read_pool(central, shop_id=shop_id, skus=skus)
        try:
            # A savepoint, so that a failing query leaves the caller's transaction usable.
            async with session.begin_nested():
                return await _read_pool(session, shop_id=shop_id, skus=skus)
        except SQLAlchemyError as exc:
            raise CentralPoolUnavailable("query_failed", describe(exc)) from exc
