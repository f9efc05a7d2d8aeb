"""The per-IP ceiling (``GATEWAY_RATE_LIMIT_PER_IP``): one client IP across every shop and
class, checked in the same Redis round trip as the class limit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pytest
import redis

from gateway.app import create_app
from gateway.settings import Settings
from tests.gateway.conftest import front_door, serve


async def test_rotating_invented_shop_ids_is_limited(
    make_settings: Callable[..., Settings], shared_redis: redis.Redis, key_prefix: str
) -> None:
    app = create_app(make_settings(gateway_rate_limit_per_ip="5/minute"))
    async with serve(app) as client:
        responses = [
            await client.get(
                "/api/cart",
                headers=front_door(
                    **{"x-shop-id": f"invented-{n}", "cf-connecting-ip": "192.0.2.44"}
                ),
            )
            for n in range(20)
        ]
    assert Counter(r.status_code for r in responses) == {200: 5, 429: 15}
    refused = responses[-1]
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert refused.headers["ratelimit-policy"] == '"cart";q=120;w=60, "per-ip";q=5;w=60'
    cart_state, ceiling_state = refused.headers["ratelimit"].split(", ")
    assert cart_state == '"cart";r=120;t=60'  # this invented shop's window was never used
    assert ceiling_state == f'"per-ip";r=0;t={refused.headers["retry-after"]}'
    assert 59 <= int(refused.headers["retry-after"]) <= 60
    # Only admitted requests leave windows behind: 5 shops' and the client's, not 20.
    assert len(list(shared_redis.scan_iter(match=f"{key_prefix}:*"))) == 6


async def test_another_client_ip_is_not_affected(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(gateway_rate_limit_per_ip="2/minute"))
    async with serve(app) as client:

        async def status(ip: str) -> int:
            headers = front_door(**{"x-shop-id": "shop-a", "cf-connecting-ip": ip})
            return (await client.get("/api/cart", headers=headers)).status_code

        assert [await status("192.0.2.50") for _ in range(3)] == [200, 200, 429]
        assert await status("192.0.2.51") == 200


@pytest.mark.parametrize("value", ["lots", "0/minute", "1/second;2/minute"])
def test_a_bad_ceiling_stops_start_up(make_settings: Callable[..., Settings], value: str) -> None:
    with pytest.raises(ValueError, match="gateway_rate_limit_per_ip"):
        make_settings(gateway_rate_limit_per_ip=value)
