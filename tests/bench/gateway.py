"""Benchmark: the gateway against the upstream alone, the Python floor and nginx + limit_req.

Run with ``make bench-gateway`` (``python -m tests.bench.gateway``). Everything listens on
127.0.0.1 and the run is bounded (about four minutes with the defaults). Each setup runs
as one process, all sharing this machine's cores with the load generator:

| setup | what it shows |
|---|---|
| upstream alone | nginx answering a fixed JSON: the ceiling of anything in front of it |
| Python floor | uvicorn + the cheapest ASGI app: what one Python process can serve at all |
| nginx + limit_req | a rate-limiting proxy (C) in front of the upstream |
| gateway | the gateway, limits on its own redis-server, in front of the upstream |
| gateway (before) | with ``--before DIR``: the gateway from another source tree, same setup |

``wrk -t1`` at 1, 64 and 256 connections, in interleaved rounds (medians reported);
ratios per round, so both sides of a ratio ran under the same background load. Redis
round trips per admitted request come from the private Redis' ``INFO commandstats``.
With py-spy installed the gateway is profiled under 64 connections: a flame graph (SVG)
and the inclusive top frames go to ``tests/bench/results/``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.bench import servers
from tests.bench.load import PATH, LoadResult, Target, commandstats, round_trips, run_wrk
from tests.bench.load import write_script as write_wrk_script
from tests.bench.report import Report, profile, write_report
from tests.support.processes import ROOT

FRONT_DOOR_TOKEN = "bench-front-door"
SHOP = "bench-shop"


def say(message: str) -> None:
    print(message, flush=True)


def served(target: Target) -> tuple[int, int]:
    """From the gateway's /metrics: requests answered 200 on the benchmark's path, and
    rate-limit decisions taken without Redis (its deadline passed under load: fallback)."""
    text = httpx.get(
        target.url + "/metrics", headers={"x-front-door-token": FRONT_DOOR_TOKEN}, timeout=10
    ).text

    def total(prefix: str) -> int:
        lines = text.splitlines()
        return round(sum(float(ln.rsplit(" ", 1)[1]) for ln in lines if ln.startswith(prefix)))

    return (
        total(f'gateway_requests_total{{route="{PATH}",status="200"}}'),
        total("gateway_ratelimit_fallback_total{"),
    )


def start_gateway(
    name: str, upstream_url: str, workdir: Path, stack: contextlib.ExitStack, source: Path
) -> Target:
    redis_dir = workdir / f"redis-{name}"
    redis_dir.mkdir()
    redis_url, redis_proc = stack.enter_context(servers.private_redis(redis_dir))
    env = {
        "GATEWAY_FRONT_DOOR_TOKEN": FRONT_DOOR_TOKEN,
        "GATEWAY_ORIGIN_TOKEN": "bench-origin-token",
        "GATEWAY_ORIGIN_URL": upstream_url,
        "GATEWAY_REDIS_URL": redis_url,
        "GATEWAY_REDIS_KEY_PREFIX": f"bench-{os.getpid()}",
        # Every request comes from a new IP; the ceiling must not be what refuses.
        "GATEWAY_RATE_LIMIT_PER_IP": "600/minute",
        "LOG_LEVEL": "WARNING",
    }
    args = servers.uvicorn_args("gateway.app:create_app")
    if (source / "gateway" / "__main__.py").exists():
        # As docs/gateway.md starts it (head limits, one write per response).
        args = ["-m", "gateway", "--no-access-log"]
    elif (source / "gateway" / "response_writes.py").exists():
        args += ["--http", "gateway.response_writes:CoalescingProtocol"]
    gateway = servers.python_service(name, args, env, workdir, source)
    stack.callback(gateway.stop)
    headers = {"x-front-door-token": FRONT_DOOR_TOKEN, "x-shop-id": SHOP}
    return Target(name, gateway.url, gateway.proc.pid, headers, redis_url, redis_proc.pid)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--before", type=Path, help="also run the gateway from this source tree")
    parser.add_argument("--label", default="", help="suffix of the result files")
    args = parser.parse_args()
    wrk, nginx = servers.which("wrk"), servers.which("nginx")
    if not wrk or not nginx:
        say("the benchmark needs wrk and nginx: apt-get install wrk nginx")
        return 1
    py_spy = servers.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    say(f"cores: {os.cpu_count()}; load average {os.getloadavg()}; all below share them")
    with (
        tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(tmp)
        script = write_wrk_script(workdir)
        upstream, upstream_worker = servers.start_nginx(
            nginx, "upstream", servers.UPSTREAM_SERVER, workdir
        )
        stack.callback(servers.stop_nginx, upstream)
        floor = servers.python_service(
            "floor", servers.uvicorn_args("tests.bench.servers:cheapest_app"), {}, workdir
        )
        stack.callback(floor.stop)
        limit_req, limit_req_worker = servers.start_nginx(
            nginx,
            "limit-req",
            servers.LIMIT_REQ_PROXY.replace("{upstream}", str(upstream.port)),
            workdir,
        )
        stack.callback(servers.stop_nginx, limit_req)
        targets = [
            Target("upstream alone (nginx)", upstream.url, upstream_worker),
            Target("Python floor (uvicorn + cheapest app)", floor.url, floor.proc.pid),
            Target("nginx + limit_req", limit_req.url, limit_req_worker, {"x-shop-id": SHOP}),
            start_gateway("gateway", upstream.url, workdir, stack, ROOT),
        ]
        if args.before:
            targets.append(
                start_gateway("gateway (before)", upstream.url, workdir, stack, args.before)
            )
        report = run(args, targets, upstream_worker, wrk, script)
        if Path(py_spy).exists():
            for target in targets[3:]:
                report.profiles[target.name] = profile(py_spy, target, wrk, script, args.label)
    write_report(report, args.label)
    return 0


def run(
    args: argparse.Namespace, targets: list[Target], upstream_pid: int, wrk: str, script: Path
) -> Report:
    report = Report(args.duration, args.rounds, os.getloadavg())

    def pids(target: Target) -> dict[str, int]:
        found = {"server": target.pid, "upstream": upstream_pid}
        if target.pid == upstream_pid:
            del found["upstream"]
        if target.redis_pid is not None:
            found["redis"] = target.redis_pid
        return found

    def load(target: Target, connections: int, seconds: int) -> LoadResult:
        return run_wrk(wrk, target, connections, seconds, script, pids(target))

    say("warm-up")
    for target in targets:
        load(target, 16, 1)
    for round_ in range(args.rounds):
        for target in targets:
            for connections in (1, 64, 256):
                before = commandstats(target.redis_url) if target.redis_url else {}
                admitted_before, fallback_before = served(target) if target.redis_url else (0, 0)
                result = load(target, connections, args.duration)
                report.add(target.name, connections, result)
                if target.redis_url:
                    time.sleep(0.5)  # requests in flight when wrk stopped finish
                    sent, evalsha = round_trips(before, commandstats(target.redis_url))
                    admitted, fallback = served(target)
                    report.add_redis(
                        target.name,
                        admitted - admitted_before,
                        sent,
                        evalsha,
                        fallback - fallback_before,
                    )
                say(
                    f"round {round_ + 1} c={connections:<3d} {target.name:40s} "
                    f"{result.rps:9.0f} req/s  p50 {result.p50_ms} ms  "
                    f"non-2xx {result.non_2xx}  cpu µs/req {result.cpu_us}"
                )
    return report


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
