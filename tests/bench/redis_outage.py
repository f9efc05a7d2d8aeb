"""What the rate limit admits across a Redis outage and a restart without persistence.

``python -m tests.bench.redis_outage`` runs two gateway processes (``python -m gateway``,
``GATEWAY_EXPECTED_REPLICAS=2``, failure mode ``fallback``) sharing a private
redis-server, and sends one client's requests to them in turn at a steady rate, well above
the limit. Redis is killed (SIGKILL) during the run and started again empty (no RDB, no
AOF). Printed as JSON: the admissions in each window-long bucket, labelled by phase, and
the most admissions seen in any sliding window per phase (from the client's clock).

Expected (docs/gateway.md "During and after a Redis outage"): exactly the limit per window
while Redis is up; at most ``limit // replicas`` per process — so at most the limit in
total when every process gets its share — during the outage; and, in the window that spans
the restart, up to twice the limit: the per-process windows are forgotten when the gateway
goes back to Redis, and the restarted Redis starts from empty windows. No request gets a
5xx. ``tests/gateway/test_redis_outage_windows.py`` asserts these bounds.
"""

from __future__ import annotations

import argparse
import bisect
import json
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

from tests.gateway.conftest import PrivateRedis
from tests.support.processes import ServiceProcess, start_gateway_process, start_uvicorn

FRONT_DOOR = "redis-outage-front-door"


@dataclass
class OutageRun:
    limit: int
    window: float
    replicas: int
    phases: dict[str, tuple[float, float]]  # name → (start, end), seconds into the run
    buckets: list[dict[str, object]] = field(default_factory=list)
    max_in_any_window: dict[str, int] = field(default_factory=dict)
    server_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


def _max_in_window(times: list[float], start: float, end: float, window: float) -> int:
    """The most admissions in any ``window``-long span that starts within [start, end)."""
    best = 0
    for i, t in enumerate(times):
        if start <= t < end:
            best = max(best, bisect.bisect_left(times, t + window) - i)
    return best


def measure(
    gateways: list[ServiceProcess],
    redis: PrivateRedis,
    *,
    limit: int,
    window: float,
    rate: float,
    up: float,
    outage: float,
    after: float,
) -> OutageRun:
    """Drive one client at ``rate`` req/s; kill Redis after ``up`` s, restart after ``outage``."""
    phases = {
        "redis up": (0.0, up),
        "redis down": (up, up + outage),
        "after restart": (up + outage, up + outage + after),
    }
    run = OutageRun(limit, window, len(gateways), phases)
    headers = {"x-front-door-token": FRONT_DOOR, "x-shop-id": f"outage-{uuid.uuid4().hex[:6]}"}
    admitted: list[float] = []
    clients = [httpx.Client(base_url=g.url, timeout=5) for g in gateways]
    started = time.monotonic()
    total = up + outage + after
    sent = 0
    killed = restarted = False
    try:
        while (now := time.monotonic() - started) < total:
            if not killed and now >= up:
                redis.kill()
                killed = True
            if killed and not restarted and now >= up + outage:
                redis.start()
                restarted = True
            response = clients[sent % len(clients)].get("/api/order-status", headers=headers)
            run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
            if response.status_code == 200:
                admitted.append(now)
            run.server_errors += response.status_code >= 500
            sent += 1
            time.sleep(max(0.0, started + sent / rate - time.monotonic()))
    finally:
        for client in clients:
            client.close()
    for name, (start, end) in phases.items():
        run.max_in_any_window[name] = _max_in_window(admitted, start, end - window, window)
    bucket = 0.0
    while bucket < total:
        phase = next(n for n, (s, e) in phases.items() if s <= bucket < e)
        count = sum(1 for t in admitted if bucket <= t < bucket + window)
        run.buckets.append({"from": round(bucket, 1), "phase": phase, "admitted": count})
        bucket += window
    return run


def start_gateways(
    log_dir: Path, origin: ServiceProcess, redis: PrivateRedis, *, limit: int, window: int
) -> list[ServiceProcess]:
    env = {
        "GATEWAY_FRONT_DOOR_TOKEN": FRONT_DOOR,
        "GATEWAY_ORIGIN_TOKEN": "outage-origin",
        "GATEWAY_ORIGIN_URL": origin.url,
        "GATEWAY_REDIS_URL": redis.url,
        "GATEWAY_REDIS_FAILURE_MODE": "fallback",
        "GATEWAY_EXPECTED_REPLICAS": "2",
        "GATEWAY_RATE_LIMIT_STATUS": f"{limit} per {window} seconds",
        "LOG_LEVEL": "WARNING",
    }
    return [start_gateway_process(f"gateway{i}", env=env, log_dir=log_dir) for i in range(2)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--phase", type=float, default=15.0, help="seconds per phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp)
        redis = PrivateRedis(log_dir)
        redis.start()
        origin = start_uvicorn(
            "upstream", "tests.gateway.upstream_app:create_app", env={}, log_dir=log_dir
        )
        gateways = start_gateways(log_dir, origin, redis, limit=args.limit, window=args.window)
        try:
            run = measure(
                gateways,
                redis,
                limit=args.limit,
                window=args.window,
                rate=args.rate,
                up=args.phase,
                outage=args.phase,
                after=args.phase,
            )
        finally:
            for service in (*gateways, origin):
                service.stop()
            redis.stop()
    print(json.dumps(asdict(run), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
