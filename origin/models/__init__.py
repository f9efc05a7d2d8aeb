"""Every table of the origin. Importing this package registers them all on ``metadata``."""

from origin.models.base import metadata
from origin.models.carts import Cart, CartLine
from origin.models.catalog import (
    CatalogVersion,
    CentralAllocation,
    CentralStock,
    Coupon,
    Product,
    Shop,
    Variant,
)
from origin.models.central import CentralFollowUp, CentralReservation, CentralReservationItem
from origin.models.holds import CheckoutIntent, HoldItem, InventoryHold
from origin.models.orders import Order, OrderLine, ProcessedStripeEvent, StripeObjectShop

__all__ = [
    "Cart",
    "CartLine",
    "CatalogVersion",
    "CentralAllocation",
    "CentralFollowUp",
    "CentralReservation",
    "CentralReservationItem",
    "CentralStock",
    "CheckoutIntent",
    "Coupon",
    "HoldItem",
    "InventoryHold",
    "Order",
    "OrderLine",
    "ProcessedStripeEvent",
    "Product",
    "Shop",
    "StripeObjectShop",
    "Variant",
    "metadata",
]
