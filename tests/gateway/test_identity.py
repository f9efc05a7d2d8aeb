"""Client IP (for rate-limit keys) and shop id validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checkout_edge_shared.errors import BadRequest
from gateway.identity import SHOP_ID_PATTERN, client_ip, shop_id


def test_client_ip_comes_from_the_front_door_header() -> None:
    ip = client_ip(["203.0.113.10"], peer="10.0.0.5")
    assert (ip.value, ip.key) == ("203.0.113.10", "203.0.113.10")


def test_client_ip_falls_back_to_the_socket_peer() -> None:
    ip = client_ip([], peer="10.0.0.5")
    assert (ip.value, ip.key) == ("10.0.0.5", "10.0.0.5")


@pytest.mark.parametrize(
    "values",
    [
        ["not-an-ip"],
        [""],
        ["203.0.113.10, 198.51.100.1"],
        ["203.0.113.10", "203.0.113.11"],
        ["203.0.113.10", "203.0.113.10"],
    ],
)
def test_malformed_or_repeated_client_ip_header_is_refused(values: list[str]) -> None:
    with pytest.raises(BadRequest) as refused:
        client_ip(values, peer="10.0.0.5")
    assert refused.value.code == "CLIENT_IP_INVALID"


def test_ipv6_clients_are_keyed_by_their_64_prefix() -> None:
    first = client_ip(["2001:db8:1:2::1"], peer=None)
    second = client_ip(["2001:db8:1:2:ffff::9"], peer=None)
    other = client_ip(["2001:db8:1:3::1"], peer=None)
    assert first.value == "2001:db8:1:2::1"
    assert first.key == second.key == "2001:db8:1:2::/64"
    assert other.key != first.key


def test_ipv4_mapped_ipv6_is_the_ipv4_client() -> None:
    ip = client_ip(["::ffff:203.0.113.10"], peer=None)
    assert (ip.value, ip.key) == ("203.0.113.10", "203.0.113.10")


def test_unknown_client_when_neither_header_nor_peer() -> None:
    assert client_ip([], peer=None).key == "unknown"


@pytest.mark.parametrize("shop", ["ab", "cochlearfit", "shop-1", "0-shop", "a" * 64])
def test_valid_shop_ids_pass(shop: str) -> None:
    assert shop_id([shop], required=True) == shop


@pytest.mark.parametrize(
    "shop",
    ["a", "-shop", "Shop", "shop_1", "shop.one", "a" * 65, "shop\n", "shop one", "shöp", ""],
)
def test_invalid_shop_ids_are_400_shop_id_invalid(shop: str) -> None:
    with pytest.raises(BadRequest) as raised:
        shop_id([shop], required=True)
    assert raised.value.code == "SHOP_ID_INVALID"
    assert raised.value.status == 400


def test_missing_shop_id_is_400_shop_id_required_on_shop_routes() -> None:
    with pytest.raises(BadRequest) as raised:
        shop_id([], required=True)
    assert raised.value.code == "SHOP_ID_REQUIRED"


def test_shop_id_is_optional_where_the_table_says_so() -> None:
    assert shop_id([], required=False) is None


def test_two_different_shop_ids_are_invalid() -> None:
    with pytest.raises(BadRequest) as raised:
        shop_id(["shop-a", "shop-b"], required=True)
    assert raised.value.code == "SHOP_ID_INVALID"


@given(st.text(max_size=80))
def test_shop_id_accepts_exactly_the_contract_pattern(text: str) -> None:
    import re

    expected = re.fullmatch(r"[a-z0-9][a-z0-9-]{1,63}", text, flags=re.ASCII) is not None
    assert (SHOP_ID_PATTERN.fullmatch(text) is not None) == expected
