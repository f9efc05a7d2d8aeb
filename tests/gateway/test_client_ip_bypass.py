"""The rate-limit key cannot be steered by the client, through a real ``python -m gateway``.

Each test sends 15 checkouts under the default limit of 10 per minute, varying what a
client controls on every request. Forwarding headers must not change the key (uvicorn's
proxy-header handling would take them from a loopback peer); a client-IP header that is
malformed or doubled is refused rather than replaced by the peer.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.gateway.conftest import front_door
from tests.gateway.processes import gateway_env, start_gateway
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.e2e

ATTEMPTS = 15


@pytest.fixture(scope="module")
def gateway(
    upstream: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    service = start_gateway(tmp_path_factory.mktemp("bypass"), gateway_env(upstream.url))
    try:
        yield service
    finally:
        service.stop()


def checkouts(
    gateway: ServiceProcess, vary: Callable[[int], list[tuple[str, str]]]
) -> Counter[int]:
    """Statuses of ``ATTEMPTS`` checkouts, for a shop of their own (a bucket of their own)."""
    statuses: Counter[int] = Counter()
    shop = f"bypass-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=gateway.url) as client:
        for i in range(ATTEMPTS):
            headers = [*front_door(**{"x-shop-id": shop}).items(), *vary(i)]
            statuses[client.post("/api/checkout-session", headers=headers).status_code] += 1
    return statuses


def forwarding_headers(i: int) -> list[tuple[str, str]]:
    address = f"203.0.113.{i + 1}"
    return [
        ("x-forwarded-for", address),
        ("forwarded", f"for={address}"),
        ("x-real-ip", address),
    ]


def test_forwarding_headers_do_not_change_the_key(gateway: ServiceProcess) -> None:
    assert checkouts(gateway, forwarding_headers) == {200: 10, 429: 5}


def test_forwarding_headers_with_the_client_ip_header_do_not_change_the_key(
    gateway: ServiceProcess,
) -> None:
    def vary(i: int) -> list[tuple[str, str]]:
        return [("cf-connecting-ip", "198.51.100.20"), *forwarding_headers(i)]

    assert checkouts(gateway, vary) == {200: 10, 429: 5}


def test_malformed_client_ip_header_is_refused(gateway: ServiceProcess) -> None:
    def vary(i: int) -> list[tuple[str, str]]:
        return [("cf-connecting-ip", f"client-{i}"), *forwarding_headers(i)]

    assert checkouts(gateway, vary) == {400: ATTEMPTS}
    with httpx.Client(base_url=gateway.url) as client:
        response = client.post(
            "/api/checkout-session",
            headers=front_door(**{"x-shop-id": "bypass-shop", "cf-connecting-ip": "1.2.3"}),
        )
    assert response.json()["error"]["code"] == "CLIENT_IP_INVALID"


def test_doubled_client_ip_header_is_refused(gateway: ServiceProcess) -> None:
    def vary(i: int) -> list[tuple[str, str]]:
        return [
            ("cf-connecting-ip", f"203.0.113.{i + 1}"),
            ("cf-connecting-ip", "198.51.100.20"),
            *forwarding_headers(i),
        ]

    assert checkouts(gateway, vary) == {400: ATTEMPTS}


def test_ipv6_clients_share_the_limit_of_their_64(gateway: ServiceProcess) -> None:
    def vary(i: int) -> list[tuple[str, str]]:
        return [("cf-connecting-ip", f"2001:db8:5:6::{i + 1:x}")]

    assert checkouts(gateway, vary) == {200: 10, 429: 5}
