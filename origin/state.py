"""The resources the lifespan hands to handlers, typed (Starlette's ``State`` pattern)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request

from origin.catalog.cache import CatalogCache
from origin.inventory.central_policy import CentralInventory
from origin.metrics import OriginMetrics
from origin.payments.stripe_client import StripePayments
from origin.settings import Settings


@dataclass
class OriginState:
    settings: Settings
    metrics: OriginMetrics
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    payments: StripePayments
    # The central pool (§3.6): routing and policy, and its own database when it has one.
    central: CentralInventory
    # The per-shop catalog cache (prices, coupons, routing), invalidated by catalog_version.
    catalog: CatalogCache


def get_state(request: Request) -> OriginState:
    state = request.app.state.origin
    assert isinstance(state, OriginState)
    return state
