"""The whole stack as real processes: gateway → origin, and ``make run``'s launcher."""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    ROOT_DIR,
    gateway_process_env,
    origin_process_env,
)
from tests.support.processes import free_port, start_gateway_process, start_uvicorn

pytestmark = pytest.mark.e2e
FRONT_DOOR = "e2e-front-door"


def test_request_is_forwarded_through_real_gateway_to_real_origin(
    pg_url: str, seeded: Any, log_dir: Path
) -> None:
    origin = start_uvicorn(
        "origin",
        "origin.app:create_app",
        env=origin_process_env(pg_url),
        log_dir=log_dir,
    )  # fmt: skip
    gateway = start_gateway_process(
        "gateway",
        env=gateway_process_env(origin.url, FRONT_DOOR),
        log_dir=log_dir,
    )  # fmt: skip
    try:
        headers = {"x-front-door-token": FRONT_DOOR, "x-shop-id": "testshop"}
        body = {"items": [{"sku": "clip", "quantity": 2}]}
        ok = httpx.post(gateway.url + "/api/inventory/validate", json=body, headers=headers)
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"ok": True}
        request_id = ok.headers["x-request-id"]
        assert request_id

        unknown = httpx.post(
            gateway.url + "/api/inventory/validate",
            json=body,
            headers={**headers, "x-shop-id": "no-such-shop", "x-request-id": "trace-me-1"},
        )
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "SHOP_NOT_FOUND"
        # The id the client sent is the one the origin logged and answered with.
        assert unknown.json()["error"]["requestId"] == "trace-me-1"
        assert unknown.headers["x-request-id"] == "trace-me-1"

        direct = httpx.post(origin.url + "/api/inventory/validate", json=body, headers=headers)
        assert direct.status_code == 401
        assert direct.json()["error"]["code"] == "GATEWAY_UNAUTHORIZED"
    finally:
        gateway.stop()
        origin.stop()
    assert "trace-me-1" in origin.log_text()


def _children(pid: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(p) for p in out.split()]


def test_make_run_launcher_serves_the_printed_curl_and_stops_cleanly(tmp_path: Path) -> None:
    ports = {
        "GATEWAY_PORT": free_port(),
        "ORIGIN_PORT": free_port(),
        "STRIPE_SIM_PORT": free_port(),
    }
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GATEWAY_", "ORIGIN_", "STRIPE_", "DATABASE_URL"))
    }
    env.update({k: str(v) for k, v in ports.items()})
    shops = {"cochlearfit": free_port(), "wardrobe-rent": free_port()}
    env["FRONT_DOOR_SHOPS"] = ",".join(f"{shop}={port}" for shop, port in shops.items())
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'run.db'}"
    env["RUN_VAR_DIR"] = str(tmp_path / "var")
    proc = subprocess.Popen(
        [sys.executable, "deploy/run_local.py"],
        cwd=ROOT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    output: list[str] = []
    curl = None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and curl is None:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            text = line.split(" │ ", 1)[-1].strip()
            if text.startswith("curl "):
                curl = text
        assert curl is not None, "".join(output)
        args = shlex.split(curl)
        url = next(a for a in args if a.startswith("http://"))
        headers = dict(h.split(": ", 1) for h in _header_lines(args))
        data = args[args.index("-d") + 1]
        response = httpx.post(url, content=data, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"ok": True}
        _pay_through_the_stack(url.rsplit("/api/", 1)[0], headers, ports["STRIPE_SIM_PORT"])
        _storefronts_answer(shops)
        children = _children(proc.pid)
        assert len(children) == 4
        secrets = json.loads((tmp_path / "var" / "dev-secrets.json").read_text()).values()
        for child in children:
            command_line = Path(f"/proc/{child}/cmdline").read_bytes().decode()
            assert "_FILE" not in command_line
            assert not [s for s in secrets if s in command_line], "a secret is visible in ps"
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
        output.append(rest)
    assert proc.returncode == 0, "".join(output)
    for child in children:
        assert not Path(f"/proc/{child}").exists() or _is_zombie_or_gone(child)
    assert re.search(r"gateway\s+http://127\.0\.0\.1:\d+", "".join(output))
    after = "".join(output).split("checkout-edge is running", 1)[1].splitlines()[1:3]
    banner = [line.split(" │ ", 1)[1] for line in after]
    assert banner == [
        f"  storefront       http://{shop}.localhost:{port}/   ({shop})"
        for shop, port in shops.items()
    ]


def _storefronts_answer(shops: dict[str, int]) -> None:
    """Each port serves its shop's storefront, and its /api/* reaches the platform as it."""
    for shop, port in shops.items():
        front_door = f"http://127.0.0.1:{port}"
        page = httpx.get(front_door + "/")
        assert page.status_code == 200
        assert '<script type="module" src="/js/page-list.js">' in page.text
        assert httpx.get(front_door + "/shop/catalog.json").json()["shop"]["id"] == shop
        cart = httpx.get(front_door + "/api/cart", headers={"x-shop-id": "someone-else"})
        assert cart.status_code == 200, cart.text
        assert cart.json()["currency"] == ("usd" if shop == "cochlearfit" else "eur")


def _header_lines(args: list[str]) -> list[str]:
    """The curl's ``-H`` values; ``-H @file`` reads the headers from the file, as curl does."""
    lines: list[str] = []
    for flag, value in itertools.pairwise(args):
        if flag == "-H":
            lines += Path(value[1:]).read_text().splitlines() if value.startswith("@") else [value]
    return lines


def _pay_through_the_stack(gateway: str, headers: dict[str, str], sim_port: int) -> None:
    """Checkout, the stand-in's Pay button, its webhook through the gateway, a paid order."""
    item = {
        "sku": "cf-headband",
        "quantity": 1,
        "variantAttributes": {"size": "m", "color": "navy"},
    }
    checkout = httpx.post(
        f"{gateway}/api/checkout-session",
        json={"items": [item]},
        headers={**headers, "Idempotency-Key": "launcher-attempt"},
    )
    assert checkout.status_code == 201, checkout.text
    session_id = checkout.json()["sessionId"]
    page = httpx.get(checkout.json()["url"])
    assert page.status_code == 200
    assert "Sport Headband" in page.text
    paid = httpx.post(f"http://127.0.0.1:{sim_port}/pay/{session_id}/complete")
    assert paid.status_code == 303
    assert session_id in paid.headers["location"]
    status: dict[str, Any] = {}
    for _ in range(50):
        status = httpx.get(
            f"{gateway}/api/order-status", params={"sessionId": session_id}, headers=headers
        ).json()
        if status.get("status") == "paid":
            break
        time.sleep(0.1)
    assert status["status"] == "paid", status
    assert status["orderId"].startswith("ord_")


def _is_zombie_or_gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status
