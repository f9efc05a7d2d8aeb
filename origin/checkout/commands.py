"""What the checkout domain is asked, what it answers, and what it works with — all typed.

The route turns a request into a :class:`CheckoutCommand`; :func:`origin.checkout.flow.checkout`
answers a :class:`CheckoutOutcome`. Phase A's answer is one of :data:`Claim`: the hold this
request :class:`Created`, the intent's live or paid hold it :class:`Reused`, or an
:class:`Expired` hold that must be reaped before the intent can start again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from origin.carts.cart_identity import CartIds
from origin.catalog.cache import CatalogCache
from origin.catalog.line_items import LineItemIn
from origin.catalog.values import ShopProfile
from origin.inventory.central_policy import CentralInventory
from origin.metrics import OriginMetrics
from origin.models import InventoryHold
from origin.payments.stripe_client import StripePayments
from origin.settings import Settings


@dataclass(frozen=True, slots=True)
class CheckoutCommand:
    """One checkout request, parsed: no web object past this point."""

    shop_id: str
    idempotency_key: str | None
    # Checked against each other (and inline items resolved) only once the shop is known.
    cart_ids: CartIds
    items: tuple[LineItemIn, ...] | None  # inline items as sent; None for a cart checkout
    expected_total: int | None
    coupon_code: str | None
    rental_days: int | None
    customer_email: str | None


@dataclass(frozen=True, slots=True)
class CheckoutDeps:
    """The collaborators of a checkout, handed over by the lifespan's state."""

    settings: Settings
    metrics: OriginMetrics
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    payments: StripePayments
    central: CentralInventory
    catalog: CatalogCache


@dataclass(frozen=True, slots=True)
class Created:
    hold: InventoryHold
    shop: ShopProfile
    customer_email: str | None


@dataclass(frozen=True, slots=True)
class Reused:
    hold: InventoryHold
    shop: ShopProfile
    customer_email: str | None


@dataclass(frozen=True, slots=True)
class Expired:
    hold: InventoryHold


Claim = Created | Reused | Expired


@dataclass(frozen=True, slots=True)
class CheckoutOutcome:
    """The hold (with its session recorded) and whether this request created it."""

    hold: InventoryHold
    shop: ShopProfile
    created: bool
