"""The development front door as a real process, in front of an echoing stand-in gateway.

The shop is the port's, whatever the request says; what only the front door may set is
dropped from the client's request and set by it; cookies go to their own browser only.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT_DIR
from tests.storefront.conftest import FRONT_DOOR_TOKEN, start_front_door
from tests.support.processes import ServiceProcess, free_port, start_uvicorn

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def door(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServiceProcess, dict[str, int]]]:
    log_dir = tmp_path_factory.mktemp("front-door")
    upstream = start_uvicorn(
        "upstream", "tests.gateway.upstream_app:create_app", env={}, log_dir=log_dir
    )
    ports = {"cochlearfit": free_port(), "wardrobe-rent": free_port()}
    front_door = start_front_door(upstream.url, ports, log_dir, "http://127.0.0.1:9/js/stripe.js")
    try:
        yield front_door, ports
    finally:
        front_door.stop()
        upstream.stop()


def _echo_headers(answer: httpx.Response) -> dict[str, list[str]]:
    assert answer.status_code == 200, answer.text
    headers: dict[str, list[str]] = {}
    for name, value in answer.json()["headers"]:
        headers.setdefault(name, []).append(value)
    return headers


def test_the_port_chooses_the_shop_and_client_sent_identity_headers_are_dropped(
    door: tuple[ServiceProcess, dict[str, int]],
) -> None:
    _, ports = door
    body = b'{"sku": "cf-headband", "quantity": 1}'
    spoofed = {
        "x-shop-id": "wardrobe-rent",
        "x-front-door-token": "guessed",
        "cf-connecting-ip": "203.0.113.9",
        "x-forwarded-for": "198.51.100.1",
        "forwarded": "for=198.51.100.2",
        "x-real-ip": "198.51.100.3",
        "x-client-ip": "198.51.100.4",
        "x-gateway-token": "guessed-too",
        "connection": "x-private",
        "x-private": "hop-by-hop by Connection",
        "idempotency-key": "attempt-1",
        "x-cart-id": "cart-1",
        "content-type": "application/json",
    }
    answer = httpx.post(
        f"http://127.0.0.1:{ports['cochlearfit']}/api/cart?lineId=a%2Fb",
        content=body,
        headers=spoofed,
    )
    headers = _echo_headers(answer)

    assert headers["x-shop-id"] == ["cochlearfit"]
    assert headers["x-front-door-token"] == [FRONT_DOOR_TOKEN]
    assert headers["cf-connecting-ip"] == ["127.0.0.1"]
    for dropped in ("x-forwarded-for", "forwarded", "x-real-ip", "x-client-ip",
                    "x-gateway-token", "x-private"):  # fmt: skip
        assert dropped not in headers
    assert headers["idempotency-key"] == ["attempt-1"]
    assert headers["x-cart-id"] == ["cart-1"]
    assert answer.json()["bodySha256"] == hashlib.sha256(body).hexdigest()
    assert answer.json()["rawPath"] == "/api/cart"
    assert answer.json()["query"] == "lineId=a%2Fb"

    other = httpx.get(f"http://127.0.0.1:{ports['wardrobe-rent']}/api/order-status")
    assert _echo_headers(other)["x-shop-id"] == ["wardrobe-rent"]


def test_set_cookie_reaches_its_browser_and_never_the_next_shopper(
    door: tuple[ServiceProcess, dict[str, int]],
) -> None:
    _, ports = door
    base = f"http://127.0.0.1:{ports['cochlearfit']}"
    first = httpx.get(base + "/api/cart", headers={"x-test-mode": "cookie"})
    assert "cart_id=c-123" in first.headers["set-cookie"]

    second = httpx.get(base + "/api/cart")
    assert "cookie" not in _echo_headers(second)


def test_hop_by_hop_answer_headers_stop_at_the_front_door(
    door: tuple[ServiceProcess, dict[str, int]],
) -> None:
    _, ports = door
    answer = httpx.get(
        f"http://127.0.0.1:{ports['cochlearfit']}/api/cart", headers={"x-test-mode": "hop"}
    )
    assert answer.status_code == 200
    assert answer.content == b"hop"
    assert answer.headers["x-kept"] == "yes"
    for hop in ("x-secret-hop", "keep-alive", "proxy-authenticate"):
        assert hop not in answer.headers


def test_each_port_serves_the_storefront_with_its_own_shop_folder(
    door: tuple[ServiceProcess, dict[str, int]],
) -> None:
    _, ports = door
    for shop, port in ports.items():
        base = f"http://127.0.0.1:{port}"
        assert "page-list.js" in httpx.get(base + "/").text
        assert "page-cart.js" in httpx.get(base + "/cart/").text
        assert httpx.get(base + "/shop/catalog.json").json()["shop"]["id"] == shop
        payments = httpx.get(base + "/shop/payments.json").json()
        assert payments["stripeJsUrl"] == "http://127.0.0.1:9/js/stripe.js"
        assert httpx.get(base + "/shop/../front_door.py").status_code == 404
        assert httpx.get(base + "/shop/%2e%2e/catalog.json").status_code == 404


def test_gateway_unreachable_is_a_502_in_the_platform_error_shape(tmp_path: Path) -> None:
    port = free_port()
    dead = f"http://127.0.0.1:{free_port()}"
    front_door = start_front_door(dead, {"cochlearfit": port}, tmp_path, "http://127.0.0.1:9/")
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/api/cart")
    finally:
        front_door.stop()
    assert answer.status_code == 502
    assert answer.json()["error"]["code"] == "GATEWAY_UNAVAILABLE"


def test_start_up_refuses_a_missing_token_or_a_bad_shop_with_one_line() -> None:
    script = [sys.executable, "deploy/front_door.py", "--gateway-url", "http://127.0.0.1:9"]
    no_token = subprocess.run(
        [*script, "--shop", "cochlearfit=1"], cwd=ROOT_DIR, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin"}, timeout=30,
    )  # fmt: skip
    assert no_token.returncode == 2
    assert no_token.stderr.strip() == (
        "front door: GATEWAY_FRONT_DOOR_TOKEN (or GATEWAY_FRONT_DOOR_TOKEN_FILE) is not set"
    )

    unreadable = subprocess.run(
        [*script, "--shop", "cochlearfit=1"], cwd=ROOT_DIR, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "GATEWAY_FRONT_DOOR_TOKEN_FILE": "/nonexistent/token"},
        timeout=30,
    )  # fmt: skip
    assert unreadable.returncode == 2
    assert unreadable.stderr.strip().startswith(
        "front door: GATEWAY_FRONT_DOOR_TOKEN_FILE: cannot read '/nonexistent/token'"
    )

    bad_shop = subprocess.run(
        [*script, "--shop", "Not A Shop=80"], cwd=ROOT_DIR, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "GATEWAY_FRONT_DOOR_TOKEN": "t"}, timeout=30,
    )  # fmt: skip
    assert bad_shop.returncode == 2
    assert "expected SHOP=PORT" in bad_shop.stderr
