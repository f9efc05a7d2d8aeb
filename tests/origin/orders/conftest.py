"""The ``shopper`` every webhook and order-status test checks out and pays with."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import OriginClient
from tests.origin.orders.webhook_support import Shopper


@pytest.fixture
def shopper(shop_origin: OriginClient, sim: httpx.AsyncClient) -> Shopper:
    return Shopper(shop_origin, sim)
