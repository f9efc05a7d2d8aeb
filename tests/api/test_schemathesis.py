"""schemathesis against real processes: stand-in → gateway → origin on PostgreSQL.

The fuzzer reads docs/openapi.yaml, calls every operation through the real gateway with
the front-door token, follows the document's links (a cart → its checkout → the order
status), and checks that no answer is a 5xx and every answer conforms to the document
(status, content type, headers, body). The run is bounded by ``--max-time``; the rate
limits are raised so the fuzzer measures the API, not the limiter (the limiter has its own
tests).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import gateway_process_env, origin_process_env, start_stripe_sim
from tests.support import databases
from tests.support.openapi import operations
from tests.support.processes import (
    ROOT,
    ServiceProcess,
    free_port,
    start_gateway_process,
    start_uvicorn,
)

pytestmark = pytest.mark.e2e

FRONT_DOOR = "fuzz-front-door"
MAX_SECONDS = 45
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "unsupported_method",
        "allow_header_conformance",
    )
)
HIGH_LIMIT = "10000/minute"


@dataclass(frozen=True)
class Stack:
    gateway_url: str
    sim_url: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir = tmp_path_factory.mktemp("fuzz")
    database_url = databases.create_migrated_database("ce_fuzz")
    gateway_port = free_port()
    started: list[ServiceProcess] = []
    try:
        subprocess.run(
            [sys.executable, "-m", "origin", "seed", "--file", "tests/fixtures/catalog.json"],
            cwd=ROOT,
            env={"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
            check=True,
            capture_output=True,
        )
        sim = start_stripe_sim(
            log_dir,
            webhook_url=f"http://127.0.0.1:{gateway_port}/api/stripe-webhook",
            extra=["--webhook-header", f"x-front-door-token: {FRONT_DOOR}"],
        )
        started.append(sim.process)
        origin = start_uvicorn(
            "origin", "origin.app:create_app",
            env=origin_process_env(database_url, sim.url, LOG_LEVEL="WARNING"),
            log_dir=log_dir,
        )  # fmt: skip
        started.append(origin)
        limits = {
            "CHECKOUT_RATE_LIMIT_REQUESTS_PER_MINUTE": "10000",
            "GATEWAY_RATE_LIMIT_CART": HIGH_LIMIT,
            "GATEWAY_RATE_LIMIT_INVENTORY": HIGH_LIMIT,
            "GATEWAY_RATE_LIMIT_STATUS": HIGH_LIMIT,
            "GATEWAY_RATE_LIMIT_WEBHOOK": HIGH_LIMIT,
            "GATEWAY_RATE_LIMIT_PER_IP": HIGH_LIMIT,
        }
        gateway = start_gateway_process(
            "gateway", port=gateway_port,
            env=gateway_process_env(origin.url, FRONT_DOOR, LOG_LEVEL="WARNING", **limits),
            log_dir=log_dir,
        )  # fmt: skip
        started.append(gateway)
        yield Stack(gateway.url, sim.url)
    finally:
        for process in reversed(started):
            process.stop()
        databases.drop_database(database_url)


def run_schemathesis(gateway_url: str, report_dir: Path) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file", str(ROOT / "tests" / "api" / "schemathesis.toml"),
        "run", str(ROOT / "docs" / "openapi.yaml"),
        "--url", gateway_url,
        "--header", f"x-front-door-token: {FRONT_DOOR}",
        "--checks", CHECKS,
        "--mode", "positive",
        "--max-time", str(MAX_SECONDS),
        "--workers", "2",
        "--request-timeout", "15",
        "--no-color",
        "--report", "junit", "--report-dir", str(report_dir),
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=MAX_SECONDS * 4, check=False
    )


def test_schemathesis_finds_no_server_error_and_no_contract_violation(
    stack: Stack, tmp_path: Path
) -> None:
    result = run_schemathesis(stack.gateway_url, tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    # Not a vacuous pass: every operation was tested, the stateful phase ran, and
    # generated checkouts got through the whole stack to Stripe sessions.
    assert f"Tested: {len(operations())}" in output, output[-4000:]
    assert "Stateful" in output, output[-4000:]
    requests = httpx.get(f"{stack.sim_url}/_sim/requests", timeout=10).json()["data"]
    assert any(r["path"] == "/v1/checkout/sessions" and r["status"] == 200 for r in requests)


def test_the_gateway_does_not_serve_the_document(stack: Stack) -> None:
    """ADR 0007: the document is a static file; the allowlist did not grow to serve it."""
    headers = {"x-front-door-token": FRONT_DOOR}
    with httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=10) as client:
        for path in ("/openapi.json", "/openapi.yaml", "/docs", "/docs/openapi.yaml"):
            response = client.get(path)
            assert response.status_code == 404, path
            assert response.json()["error"]["code"] == "ROUTE_NOT_FOUND"
