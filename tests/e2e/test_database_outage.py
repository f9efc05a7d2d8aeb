"""Database outages through real processes: the origin's database behind a TCP proxy that a
test makes refuse connections (host down) or stall (a frozen server, a dropped network).

Whatever the outage, the API answers 503 ``SERVICE_UNAVAILABLE`` with ``Retry-After``
through the gateway — never a 500, never the gateway's 504 — both services' ``/readyz``
report it within a second, and service comes back when the database does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import StripeSim, gateway_process_env, origin_process_env
from tests.support.processes import ServiceProcess, start_gateway_process, start_uvicorn
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.e2e
FRONT_DOOR = "outage-front-door"
STATEMENT_TIMEOUT = 2.0
# The probes promise one second; the slack is for a loaded test machine.
PROBE_BOUND = 1.5
# Well inside the gateway's upstream timeout (10 s): the origin gives up on the database
# (pool pre-ping and connect, each bounded) before the gateway gives up on the origin.
API_BOUND = 9.0
VALIDATE = {"items": [{"sku": "clip", "quantity": 1}]}


@pytest.fixture
def stack(
    pg_url: str, seeded: Any, log_dir: Path, stripe_sim: StripeSim
) -> Iterator[tuple[TcpProxy, ServiceProcess, ServiceProcess]]:
    database = urlsplit(pg_url)
    with TcpProxy(database.port or 5432) as proxy:
        proxied = pg_url.replace(database.netloc, f"postgres@127.0.0.1:{proxy.port}")
        origin = start_uvicorn(
            "origin",
            "origin.app:create_app",
            env=origin_process_env(
                proxied,
                stripe_api_base=stripe_sim.url,
                ORIGIN_DB_CONNECT_TIMEOUT_SECONDS="1",
                ORIGIN_DB_STATEMENT_TIMEOUT_SECONDS=str(STATEMENT_TIMEOUT),
            ),
            log_dir=log_dir,
        )
        try:
            gateway = start_gateway_process(
                "gateway", env=gateway_process_env(origin.url, FRONT_DOOR), log_dir=log_dir
            )
        except BaseException:
            origin.stop()
            raise
        try:
            yield proxy, origin, gateway
        finally:
            gateway.stop()
            origin.stop()


def validate(gateway: ServiceProcess) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.post(
        gateway.url + "/api/inventory/validate",
        json=VALIDATE,
        headers={"x-front-door-token": FRONT_DOOR, "x-shop-id": "testshop"},
        timeout=30,
    )
    return response, time.monotonic() - started


def probe(service: ServiceProcess) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(service.url + "/readyz", timeout=30)
    return response, time.monotonic() - started


def assert_outage_answers(origin: ServiceProcess, gateway: ServiceProcess) -> None:
    for _ in range(2):  # the first call may meet a pooled connection, the second a new one
        response, took = validate(gateway)
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert int(response.headers["retry-after"]) >= 1
        assert took < API_BOUND
    for service in (origin, gateway):
        ready, took = probe(service)
        assert ready.status_code == 503, (service.name, ready.text)
        assert took < PROBE_BOUND, service.name


def assert_recovers(origin: ServiceProcess, gateway: ServiceProcess) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if validate(gateway)[0].status_code == 200:
            break
        time.sleep(0.2)
    assert validate(gateway)[0].status_code == 200
    assert probe(origin)[0].status_code == 200
    assert probe(gateway)[0].status_code == 200


def test_database_refusing_connections_is_503_and_unready(
    stack: tuple[TcpProxy, ServiceProcess, ServiceProcess],
) -> None:
    proxy, origin, gateway = stack
    assert validate(gateway)[0].status_code == 200
    proxy.refuse()
    assert_outage_answers(origin, gateway)
    proxy.restore()
    assert_recovers(origin, gateway)


def test_stalled_database_is_503_within_the_gateway_timeout_and_unready(
    stack: tuple[TcpProxy, ServiceProcess, ServiceProcess],
) -> None:
    proxy, origin, gateway = stack
    assert validate(gateway)[0].status_code == 200
    proxy.stall()
    assert_outage_answers(origin, gateway)
    proxy.restore()
    assert_recovers(origin, gateway)


def checkout(gateway: ServiceProcess, key: str) -> httpx.Response:
    return httpx.post(
        gateway.url + "/api/checkout-session",
        json=VALIDATE,
        headers={
            "x-front-door-token": FRONT_DOOR,
            "x-shop-id": "testshop",
            "Idempotency-Key": key,
        },
        timeout=30,
    )


@pytest.mark.parametrize("outage", ["refuse", "stall"])
def test_checkouts_resume_on_the_pooled_connections_after_an_outage(
    stack: tuple[TcpProxy, ServiceProcess, ServiceProcess], outage: str
) -> None:
    """The one-statement checkout runs on pooled connections SQLAlchemy does not watch: the
    ones an outage killed must be replaced, not handed to request after request."""
    proxy, _origin, gateway = stack
    # Warm the catalog cache and fill the pool with connections the outage will kill.
    for i in range(4):
        assert checkout(gateway, f"before-{outage}-{i}").status_code == 201
    getattr(proxy, outage)()
    during = checkout(gateway, f"during-{outage}")
    assert during.status_code == 503, during.text
    assert during.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    proxy.restore()
    deadline = time.monotonic() + 15
    codes = []
    while time.monotonic() < deadline:
        codes.append(checkout(gateway, f"after-{outage}-{len(codes)}").status_code)
        if codes[-3:] == [201, 201, 201]:
            break
        time.sleep(0.2)
    assert codes[-3:] == [201, 201, 201], codes
    # At most a request per dead connection on the way: the pool was replaced at the first.
    assert codes.count(503) <= 2, codes
