"""Every dashboard panel's PromQL returns data from a real Prometheus scraping a real stack.

The stack is the real thing: the Stripe stand-in, the origin on PostgreSQL (reaper and stock
audit every second), the gateway limiting on Redis; Prometheus scrapes both services every
second and evaluates ``deploy/prometheus/rules.yml`` (the dashboards read its recording
rules). A scripted flow makes every kind of event a panel shows: carts, validations, a paid
checkout, a rate-limited burst, a hold Stripe expires and one the reaper expires. Then each
target of each dashboard, with its variables filled in as "All", must return series.

The same processes' logs are the material of ``test_every_log_line_is_json``: the services
run with uvicorn's access log on, as in production.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import StripeSim, gateway_process_env, origin_process_env, start_stripe_sim
from tests.support import databases
from tests.support.processes import ServiceProcess, free_port, start_process, start_uvicorn

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
FRONT_DOOR = "dashboards-front-door"
HEADBAND = {
    "sku": "cf-headband",
    "quantity": 1,
    "variantAttributes": {"size": "m", "color": "navy"},
}
CHECKOUT_LIMIT = 4


@dataclass
class Monitored:
    gateway: ServiceProcess
    origin: ServiceProcess
    sim: StripeSim
    prometheus: ServiceProcess


def _prometheus_config(directory: Path, gateway: str, origin: str) -> Path:
    config = directory / "prometheus.yml"
    config.write_text(
        json.dumps(  # JSON is YAML
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(RULES)],
                "scrape_configs": [
                    {
                        "job_name": "checkout-edge-gateway",
                        "static_configs": [{"targets": [gateway]}],
                    },
                    {"job_name": "checkout-edge-origin", "static_configs": [{"targets": [origin]}]},
                ],
            }
        )
    )
    return config


@pytest.fixture(scope="module")
def monitored(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Monitored]:
    log_dir = tmp_path_factory.mktemp("dashboards")
    gateway_port = free_port()
    sim = start_stripe_sim(
        log_dir,
        webhook_url=f"http://127.0.0.1:{gateway_port}/api/stripe-webhook",
        extra=["--webhook-header", f"x-front-door-token: {FRONT_DOOR}"],
    )
    started: list[ServiceProcess] = [sim.process]
    try:
        origin_env = origin_process_env(
            pg_url, sim.url, HOLD_REAPER_ENABLED="true", HOLD_REAPER_INTERVAL_SECONDS="1"
        )
        # uvicorn's access log stays on (no --no-access-log): its lines must be JSON too.
        origin = start_uvicorn(
            "origin", "origin.app:create_app", env=origin_env, log_dir=log_dir, access_log=True
        )
        started.append(origin)
        gateway_env = gateway_process_env(
            origin.url,
            FRONT_DOOR,
            GATEWAY_REDIS_URL=databases.REDIS_URL,
            GATEWAY_REDIS_KEY_PREFIX=f"dash-{uuid.uuid4().hex[:8]}",
            CHECKOUT_RATE_LIMIT_REQUESTS_PER_MINUTE=str(CHECKOUT_LIMIT),
        )
        gateway = start_uvicorn(
            "gateway",
            "gateway.app:create_app",
            port=gateway_port,
            env=gateway_env,
            log_dir=log_dir,
            access_log=True,
        )
        started.append(gateway)
        prometheus_port = free_port()
        config = _prometheus_config(
            log_dir, f"127.0.0.1:{gateway.port}", f"127.0.0.1:{origin.port}"
        )
        prometheus = start_process(
            "prometheus",
            [
                f"--config.file={config}",
                f"--storage.tsdb.path={log_dir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
            ],
            executable="prometheus",
            port=prometheus_port,
            env={},
            log_dir=log_dir,
            health_path="/-/ready",
        )
        started.append(prometheus)
        yield Monitored(gateway, origin, sim, prometheus)
    finally:
        for process in reversed(started):
            process.stop()


@pytest.fixture
async def shop(monitored: Monitored, seeded: Any) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"x-front-door-token": FRONT_DOOR, "x-shop-id": "testshop"}
    async with httpx.AsyncClient(
        base_url=monitored.gateway.url, headers=headers, timeout=15
    ) as client:
        yield client


async def _flow(
    monitored: Monitored, shop: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Carts, validations, three checkouts (paid, expired at Stripe, reaped), a 429 burst.

    As in production, the shop's series exist (at 0) in a scrape before its first event:
    the origin's once its audit pass has seen the seeded shop, the gateway's once the origin
    has answered for the shop.
    """
    await _wait_for_series(monitored, 'inventory_holds_created_total{shop="testshop"}')
    cart = await shop.post("/api/cart", json=HEADBAND)
    assert cart.status_code == 200, cart.text
    await _wait_for_series(monitored, 'checkout_rate_limited_total{shop="testshop"}')
    for quantity in (1, 500):  # enough stock, then not enough
        await shop.post(
            "/api/inventory/validate", json={"items": [{**HEADBAND, "quantity": quantity}]}
        )
    checkouts = []
    for _ in range(3):
        response = await shop.post(
            "/api/checkout-session",
            json={"items": [HEADBAND]},
            headers={"idempotency-key": uuid.uuid4().hex},
        )
        assert response.status_code == 201, response.text
        checkouts.append(response.json())
    paid, expired_at_stripe, reaped = checkouts
    async with monitored.sim.client() as stripe:
        pay = await stripe.post(f"/_sim/checkout/sessions/{paid['sessionId']}/pay", json={})
        assert pay.json()["webhookStatus"] == 200, pay.text
        expire = await stripe.post(
            f"/_sim/checkout/sessions/{expired_at_stripe['sessionId']}/expire"
        )
        assert expire.json()["webhookStatus"] == 200, expire.text
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "UPDATE inventory_holds SET expires_at = expires_at - interval '2 hours' "
                "WHERE id = :id"
            ),
            {"id": reaped["inventoryReservationId"]},
        )
    # The checkout bucket allowed CHECKOUT_LIMIT; three are used: the burst is refused.
    burst = [await shop.post("/api/checkout-session", json={}) for _ in range(CHECKOUT_LIMIT)]
    assert 429 in [r.status_code for r in burst]
    await _wait_for(lambda: _reaped(sessions, reaped["inventoryReservationId"]), "the reaper")


async def _wait_for_series(monitored: Monitored, selector: str) -> None:
    async with httpx.AsyncClient(base_url=monitored.prometheus.url, timeout=10) as prometheus:

        async def present() -> bool:
            return bool(await _query(prometheus, selector))

        await _wait_for(present, selector)


async def _reaped(sessions: async_sessionmaker[AsyncSession], hold_id: str) -> bool:
    async with sessions() as session:
        status = await session.scalar(
            text("SELECT status FROM inventory_holds WHERE id = :id"), {"id": hold_id}
        )
    return status == "expired"


async def _wait_for(check: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.5)


def _targets() -> list[tuple[str, str, str]]:
    found = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel["targets"]:
                found.append((board["title"], panel["title"], target["expr"]))
    return found


def _filled(expr: str) -> str:
    """The query Grafana sends with every variable on "All"."""
    return expr.replace("$shop", ".*").replace("$__rate_interval", "1m")


async def _query(client: httpx.AsyncClient, expr: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/query", params={"query": expr})
    body = response.json()
    assert body["status"] == "success", (expr, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def test_there_are_the_five_dashboards() -> None:
    assert {path.stem for path in DASHBOARDS} == {
        "checkout-edge-checkout",
        "checkout-edge-holds",
        "checkout-edge-rate-limiting",
        "checkout-edge-inventory-validation",
        "checkout-edge-red",
    }


async def test_every_panel_returns_data_after_a_scripted_flow(
    monitored: Monitored, shop: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _flow(monitored, shop, sessions)
    async with httpx.AsyncClient(base_url=monitored.prometheus.url, timeout=10) as prometheus:
        # The last events reach a scrape, then a rule evaluation.
        async def settled() -> bool:
            # Both expiries, the reaper's possibly counted as Stripe's: expiring the session at
            # Stripe sends the `expired` event, which may release the hold first.
            expired = await _query(
                prometheus,
                "sum(inventory_hold_transitions_total"
                '{reason=~"expired_by_reaper|expired_at_stripe"}) >= 2',
            )
            limited = await _query(prometheus, "checkout_edge:rate_limited:ratio_rate5m > 0")
            return bool(expired and limited)

        try:
            await _wait_for(settled, "Prometheus to see the flow")
        except AssertionError:
            targets = (await prometheus.get("/api/v1/targets")).json()["data"]["activeTargets"]
            health = [(t["labels"]["job"], t["health"], t["lastError"]) for t in targets]
            endings = await _query(prometheus, "inventory_hold_transitions_total > 0")
            raise AssertionError(f"targets: {health}; endings: {endings}") from None
        # Two more scrapes and rule evaluations, so every series has the two samples rate() needs.
        await asyncio.sleep(2.5)
        empty = [
            (board, panel, expr)
            for board, panel, expr in _targets()
            if not await _query(prometheus, _filled(expr))
        ]
        endings = await _query(
            prometheus, "sum by (reason) (shop_to_reason:inventory_hold_transitions:rate5m > 0)"
        )
        alerts = await _query(prometheus, 'ALERTS{alertname="CheckoutWebhookTenantMismatch"}')
    assert empty == []
    reasons = {s["metric"]["reason"] for s in endings}
    assert "paid" in reasons
    assert reasons & {"expired_at_stripe", "expired_by_reaper"}
    assert alerts == []  # nothing in the flow is a tenant mismatch


async def test_every_log_line_is_json(monitored: Monitored, shop: httpx.AsyncClient) -> None:
    """The services' whole output so far, uvicorn's lines included, after a checkout."""
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    # Another shop than the flow's: its checkout bucket is untouched, so this reaches Stripe.
    checkout = await shop.post(
        "/api/checkout-session",
        json={"items": [HEADBAND]},
        headers={
            "idempotency-key": uuid.uuid4().hex,
            "traceparent": traceparent,
            "x-shop-id": "othershop",
        },
    )
    assert checkout.status_code == 201, checkout.text
    assert checkout.headers["traceparent"].split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    await asyncio.sleep(0.5)  # the access line is written after the response
    for service in (monitored.origin, monitored.gateway):
        lines = service.log_text().splitlines()
        assert lines, service.name
        entries = [json.loads(line) for line in lines]  # raises on any line that is not JSON
        access = [e for e in entries if e["logger"] == "uvicorn.access"]
        assert access, f"{service.name}: no access lines"
        assert all(e.get("requestId") and e.get("traceId") for e in access)
    origin_entries = [json.loads(line) for line in monitored.origin.log_text().splitlines()]
    stripe_calls = [e for e in origin_entries if e["msg"] == "stripe call"]
    assert stripe_calls
    assert all(e["stripeRequestId"].startswith("req_") for e in stripe_calls)
    # The gateway forwarded the trace: the origin logged the client's trace id.
    assert "4bf92f3577b34da6a3ce929d0e0e4736" in {e.get("traceId") for e in origin_entries}


def test_prometheus_loads_every_rule_healthy(monitored: Monitored) -> None:
    rules = httpx.get(f"{monitored.prometheus.url}/api/v1/rules", timeout=10).json()
    groups = {group["name"]: group for group in rules["data"]["groups"]}
    assert set(groups) == {"checkout-edge.recording", "checkout-edge.alerts"}
    unhealthy = [
        rule["name"]
        for group in groups.values()
        for rule in group["rules"]
        if rule.get("health") not in ("ok", "unknown")
    ]
    assert unhealthy == []
