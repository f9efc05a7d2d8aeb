"""Benchmark: the gateway against the origin alone and nginx + limit_req, on this machine.

Run with ``make bench-gateway`` (``python -m tests.bench.gateway``). Everything listens on
127.0.0.1 only and the whole run is bounded (about four minutes with the defaults).

What runs, each as one process, all on this machine's cores together:

- a trivial origin: a bare ASGI app under uvicorn (httptools, uvloop), answering a small
  JSON body — the origin alone is the ceiling any proxy in front of it can reach;
- the gateway, started as CONTRACT.md §1 starts it, once per upstream transport
  (``http1``, ``aiohttp``, ``httpx``), each rate limiting on a private redis-server of its
  own (so each one's ``INFO commandstats`` counts only its own commands);
- nginx (Debian package; installed with apt-get if missing), one worker, ``limit_req``
  keyed by client IP and shop, keep-alive to the same origin.

Load comes from ``wrk`` (Debian package; installed if missing, else a Python generator),
one thread, with a Lua script giving each request one of 50,000 client IPs, so every
request is admitted and each key's window stays small, as with real traffic. Access logs
are off for the gateway and nginx alike.

Measured: requests per second at saturation (64 and 256 connections, alternating, in
several interleaved rounds; medians reported), p50/p99 latency at one connection (wrk)
and at a fixed moderate rate (a Python open-loop generator that counts latency from each
request's scheduled time), Redis commands per request (``INFO commandstats`` of the
private Redis), and the CPU each process spent per request (from /proc). The figures are written to
``tests/bench/results/`` as JSON and Markdown, with a verdict per target.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from tests.support.processes import ROOT, ServiceProcess, free_port, start_uvicorn

RESULTS = ROOT / "tests" / "bench" / "results"
FRONT_DOOR_TOKEN = "bench-front-door"
PATH = "/api/cart"
SHOP = "bench-shop"
IP_SPACE = 50_000

WRK_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local n = counter %% %(space)d
  wrk.headers["cf-connecting-ip"] = "10." .. math.floor(n / 65536) .. "." ..
      (math.floor(n / 256) %% 256) .. "." .. (n %% 256)
  return wrk.format(nil)
end
"""

# -- the trivial origin (a uvicorn factory: tests.bench.gateway:trivial_origin) ----------------

_BODY = b'{"ok":true,"items":[]}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_BODY))]


async def _trivial(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})


def trivial_origin() -> Any:
    """The benchmark's origin: answers every path (``/healthz`` too) with a small JSON."""
    return _trivial


# -- processes -----------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str
    pid: int
    headers: dict[str, str] = field(default_factory=dict)
    redis_url: str | None = None  # a gateway's own Redis: its commandstats are its alone
    redis_pid: int | None = None


def say(message: str) -> None:
    print(message, flush=True)


def _which(binary: str) -> str | None:
    return shutil.which(binary, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def ensure_tool(binary: str, package: str) -> str | None:
    """The tool's path, installing its Debian package first if it is missing."""
    if found := _which(binary):
        return found
    say(f"{binary} not found: installing the Debian package {package!r} with apt-get")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        result = subprocess.run(
            command,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            say(f"  apt-get failed: {result.stderr.decode(errors='replace')[-300:]}")
            return None
    return _which(binary)


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    proc = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "no", "--dir", str(workdir)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    for _ in range(200):
        with contextlib.suppress(redis.ConnectionError):
            client.ping()
            break
        time.sleep(0.02)
    client.close()
    try:
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        proc.terminate()
        proc.wait(10)


def nginx_conf(workdir: Path, port: int, origin_port: int) -> Path:
    conf = workdir / "nginx.conf"
    temp = workdir / "nginx-temp"
    temp.mkdir(exist_ok=True)
    conf.write_text(
        f"""daemon off;
master_process on;
worker_processes 1;
user root;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  limit_req_zone "$http_cf_connecting_ip|$http_x_shop_id" zone=cart:16m rate=2r/s;
  upstream origin {{ server 127.0.0.1:{origin_port}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port};
    location = /healthz {{ proxy_pass http://origin; }}
    location = {PATH} {{
      limit_req zone=cart burst=120 nodelay;
      limit_req_status 429;
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
"""
    )
    return conf


# -- load generation -----------------------------------------------------------------------


@dataclass
class LoadResult:
    rps: float
    requests: int
    non_2xx: int
    errors: int
    p50_ms: float | None = None
    p99_ms: float | None = None


_WRK_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(
    wrk: str, target: Target, connections: int, duration: float, script: Path
) -> LoadResult:
    seconds = max(1, round(duration))
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    for name, value in target.headers.items():
        command += ["-H", f"{name}: {value}"]
    result = subprocess.run(
        [*command, target.url + PATH], capture_output=True, text=True, timeout=seconds + 30
    )
    output = result.stdout
    if "requests in" not in output:
        raise RuntimeError(f"wrk failed: {result.stdout}{result.stderr}")
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    latency = {p: float(v) * _UNITS[u] for p, v, u in _WRK_LATENCY.findall(output)}
    return LoadResult(
        rps=rps,
        requests=requests,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        errors=sum(int(g) for g in errors.groups()) if errors else 0,
        p50_ms=latency.get("50"),
        p99_ms=latency.get("99"),
    )


async def _request_once(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    if match:
        await reader.readexactly(int(match.group(1)))
    return status


def _request_bytes(target: Target, host: str, ip: int) -> bytes:
    headers = "".join(f"{k}: {v}\r\n" for k, v in target.headers.items())
    address = f"10.{ip // 65536}.{(ip // 256) % 256}.{ip % 256}"
    return (
        f"GET {PATH} HTTP/1.1\r\nHost: {host}\r\n{headers}cf-connecting-ip: {address}\r\n\r\n"
    ).encode()


async def _python_load(
    target: Target, connections: int, duration: float, rate: float | None
) -> LoadResult:
    """Closed loop (``rate`` None) or open loop at ``rate`` requests per second."""
    host, port = target.url.removeprefix("http://").split(":")
    latencies: list[float] = []
    statuses: list[int] = []
    errors = 0
    deadline = time.perf_counter() + duration
    queue: asyncio.Queue[float] = asyncio.Queue()
    counter = iter(range(10**9))

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while True:
                if rate is None:
                    if time.perf_counter() >= deadline:
                        return
                    scheduled = time.perf_counter()
                else:
                    scheduled = await queue.get()
                    if scheduled < 0:
                        return
                try:
                    status = await _request_once(
                        reader, writer, _request_bytes(target, host, next(counter) % IP_SPACE)
                    )
                except (OSError, asyncio.IncompleteReadError):
                    errors += 1
                    return
                latencies.append(time.perf_counter() - scheduled)
                statuses.append(status)
        finally:
            writer.close()

    workers = [asyncio.ensure_future(connection()) for _ in range(connections)]
    started = time.perf_counter()
    if rate is not None:
        interval, sent = 1.0 / rate, 0
        while time.perf_counter() < deadline:
            due = started + sent * interval
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            queue.put_nowait(due)  # latency counts from when the request was due
            sent += 1
        for _ in workers:
            queue.put_nowait(-1.0)
    await asyncio.gather(*workers, return_exceptions=True)
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return LoadResult(
        rps=len(ordered) / elapsed,
        requests=len(ordered),
        non_2xx=sum(1 for s in statuses if not 200 <= s < 300),
        errors=errors,
        p50_ms=1000 * ordered[len(ordered) // 2] if ordered else None,
        p99_ms=1000 * ordered[int(len(ordered) * 0.99)] if ordered else None,
    )


def python_load(
    target: Target, connections: int, duration: float, rate: float | None = None
) -> LoadResult:
    return asyncio.run(_python_load(target, connections, duration, rate))


# -- accounting ----------------------------------------------------------------------------


def served(target: Target) -> int:
    """Requests the gateway has answered on the benchmark's path (from its /metrics)."""
    text = httpx.get(
        target.url + "/metrics", headers={"x-front-door-token": FRONT_DOOR_TOKEN}, timeout=10
    ).text
    prefix = f'gateway_requests_total{{route="{PATH}",'
    return round(
        sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))
    )


def degraded_decisions(target: Target) -> dict[str, float]:
    """The gateway's own count of Redis failures and decisions taken without Redis."""
    text = httpx.get(
        target.url + "/metrics", headers={"x-front-door-token": FRONT_DOOR_TOKEN}, timeout=10
    ).text
    wanted = ("gateway_ratelimit_backend_errors_total", "gateway_ratelimit_fallback_total")
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(wanted)
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def commandstats(url: str | None) -> dict[str, int]:
    assert url is not None
    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


SCRIPT_INTERNAL = {"time", "lindex", "lpush", "ltrim", "expire", "llen"}


@dataclass
class Measurement:
    target: str
    connections: int
    load: LoadResult
    cpu_us_per_request: dict[str, float]


def measure(
    target: Target,
    connections: int,
    duration: float,
    wrk: str | None,
    script: Path,
    pids: dict[str, int],
) -> Measurement:
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    if wrk:
        load = run_wrk(wrk, target, connections, duration, script)
    else:
        load = python_load(target, connections, duration)
    after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    per_request = {
        name: round(1e6 * (after[name] - before[name]) / max(load.requests, 1), 1) for name in pids
    }
    return Measurement(target.name, connections, load, per_request)


# -- the run -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds at 64 conns")
    parser.add_argument("--rate", type=float, default=500.0, help="fixed moderate load, req/s")
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="profile the gateway")
    args = parser.parse_args()

    wrk = ensure_tool("wrk", "wrk")
    nginx = ensure_tool("nginx", "nginx")
    say(f"load generator: {'wrk (1 thread)' if wrk else 'Python (closed loop), no wrk'}")
    say(f"cores: {os.cpu_count()}; everything below shares them")

    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as tmp:
        workdir = Path(tmp)
        script = workdir / "ips.lua"
        script.write_text(WRK_SCRIPT % {"space": IP_SPACE})
        with contextlib.ExitStack() as stack:
            origin = start_uvicorn(
                "origin", "tests.bench.gateway:trivial_origin", env={}, log_dir=workdir
            )
            stack.callback(origin.stop)
            targets = [Target("origin", origin.url, origin.proc.pid)]
            gateways: dict[str, ServiceProcess] = {}
            for transport in ("http1", "aiohttp", "httpx"):
                redis_dir = workdir / f"redis-{transport}"
                redis_dir.mkdir()
                redis_url, redis_proc = stack.enter_context(private_redis(redis_dir))
                gateway = start_uvicorn(
                    f"gateway-{transport}",
                    "gateway.app:create_app",
                    env={
                        "GATEWAY_FRONT_DOOR_TOKEN": FRONT_DOOR_TOKEN,
                        "GATEWAY_ORIGIN_TOKEN": "bench-origin-token",
                        "GATEWAY_ORIGIN_URL": origin.url,
                        "GATEWAY_REDIS_URL": redis_url,
                        "GATEWAY_REDIS_KEY_PREFIX": f"bench-{transport}-{os.getpid()}",
                        "GATEWAY_UPSTREAM_TRANSPORT": transport,
                        "LOG_LEVEL": "WARNING",
                    },
                    log_dir=workdir,
                )
                stack.callback(gateway.stop)
                gateways[transport] = gateway
                targets.append(
                    Target(
                        f"gateway[{transport}]",
                        gateway.url,
                        gateway.proc.pid,
                        {"x-front-door-token": FRONT_DOOR_TOKEN, "x-shop-id": SHOP},
                        redis_url,
                        redis_proc.pid,
                    )
                )
            if nginx:
                port = free_port()
                conf = nginx_conf(workdir, port, origin.port)
                proxy = _start_nginx(nginx, conf, port, workdir)
                stack.callback(proxy.stop)
                worker = _nginx_worker_pid(proxy.proc.pid)
                targets.append(Target("nginx+limit_req", proxy.url, worker, {"x-shop-id": SHOP}))
            else:
                say("nginx unavailable: its comparison is skipped")
            results = run_all(args, targets, origin.proc.pid, wrk, script, gateways)
    write_results(results)
    return 0


def _start_nginx(binary: str, conf: Path, port: int, workdir: Path) -> ServiceProcess:
    log = workdir / "nginx.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    service = ServiceProcess("nginx", port, proc, log)
    for _ in range(200):
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return service
        time.sleep(0.05)
    proc.send_signal(signal.SIGQUIT)
    raise RuntimeError(f"nginx did not start: {log.read_text()[-2000:]}")


def _nginx_worker_pid(master: int) -> int:
    for _ in range(50):
        children = Path(f"/proc/{master}/task/{master}/children")
        if children.exists() and children.read_text().split():
            return int(children.read_text().split()[0])
        time.sleep(0.05)
    return master


def run_all(
    args: argparse.Namespace,
    targets: list[Target],
    origin_pid: int,
    wrk: str | None,
    script: Path,
    gateways: dict[str, ServiceProcess],
) -> dict[str, Any]:
    duration = args.duration
    measurements: list[Measurement] = []
    by_name = {t.name: t for t in targets}

    def pids(target: Target) -> dict[str, int]:
        found = {"proxy": target.pid, "origin": origin_pid}
        if target.name == "origin":
            found.pop("proxy")
        if target.redis_pid is not None:
            found["redis"] = target.redis_pid
        return found

    say(f"warm-up ({len(targets)} targets)")
    for target in targets:
        measure(target, 16, 1.0, wrk, script, pids(target))

    # Summed over the rounds, per request the gateway answered (its own count: wrk does not
    # count requests still in flight when it stops, which Redis did see).
    redis_totals: dict[str, dict[str, float]] = {}
    for round_ in range(args.rounds):
        for target in targets:
            is_gateway = target.redis_url is not None
            before = commandstats(target.redis_url) if is_gateway else {}
            served_before = served(target) if is_gateway else 0
            m = measure(target, 64, duration, wrk, script, pids(target))
            time.sleep(1.0)  # let requests still in flight when wrk stopped finish
            after = commandstats(target.redis_url) if is_gateway else {}
            served_after = served(target) if is_gateway else 0
            measurements.append(m)
            if is_gateway:
                # Not counted: this script's own INFO calls and its client's handshake.
                delta = {
                    k: after.get(k, 0) - before.get(k, 0)
                    for k in after
                    if k not in {"info", "hello"} and not k.startswith("client")
                }
                totals = redis_totals.setdefault(
                    target.name, {"requests": 0, "evalsha": 0, "round trips": 0, "all": 0}
                )
                totals["requests"] += served_after - served_before
                totals["evalsha"] += delta.get("evalsha", 0)
                totals["round trips"] += sum(
                    v for k, v in delta.items() if k not in SCRIPT_INTERNAL
                )
                totals["all"] += sum(delta.values())
            say(
                f"round {round_ + 1} c=64  {target.name:22s} {m.load.rps:9.0f} req/s "
                f"cpu/req {m.cpu_us_per_request}"
            )
            m = measure(target, 256, duration, wrk, script, pids(target))
            measurements.append(m)
            say(
                f"round {round_ + 1} c=256 {target.name:22s} {m.load.rps:9.0f} req/s "
                f"(non-2xx {m.load.non_2xx}, errors {m.load.errors})"
            )
    for target in targets:
        if target.name == "gateway[httpx]":
            continue
        m = measure(target, 1, duration, wrk, script, pids(target))
        measurements.append(m)
        say(f"c=1   {target.name:22s} p50 {m.load.p50_ms:.3f} ms p99 {m.load.p99_ms:.3f} ms")
    fixed: dict[str, LoadResult] = {}
    for target in targets:
        if target.name == "gateway[httpx]":
            continue
        fixed[target.name] = python_load(target, 16, duration, rate=args.rate)
        r = fixed[target.name]
        say(
            f"{args.rate:.0f}/s {target.name:22s} p50 {r.p50_ms:.3f} ms p99 {r.p99_ms:.3f} ms "
            f"(achieved {r.rps:.0f}/s)"
        )
    redis_calls: dict[str, float] = {}
    for name, totals in redis_totals.items():
        requests = max(totals["requests"], 1)
        redis_calls[f"{name} EVALSHA"] = totals["evalsha"] / requests
        redis_calls[f"{name} round trips (commands sent)"] = totals["round trips"] / requests
        redis_calls[f"{name} all commands incl. in-script"] = totals["all"] / requests
        redis_calls[f"{name} requests counted"] = totals["requests"]
    degraded = {t.name: degraded_decisions(t) for t in targets if t.name.startswith("gateway")}
    for name, counts in degraded.items():
        say(f"{name}: Redis failures / decisions without Redis during the run: {counts or 0}")
    profile = None
    if args.py_spy:
        profile = profile_gateway(args.py_spy, by_name["gateway[http1]"], wrk, script, duration)
    summary = summarize(args, measurements, fixed, redis_calls, profile, gateways, wrk)
    summary["redis_failures_and_fallbacks"] = degraded
    return summary


def profile_gateway(
    py_spy: str, target: Target, wrk: str | None, script: Path, duration: float
) -> list[str] | None:
    raw = Path(tempfile.mkstemp(suffix=".txt")[1])
    load = subprocess.Popen(
        [
            wrk or "true",
            "-t1",
            "-c64",
            f"-d{round(duration) + 2}s",
            "-s",
            str(script),
            "-H",
            f"x-front-door-token: {FRONT_DOOR_TOKEN}",
            "-H",
            f"x-shop-id: {SHOP}",
            target.url + PATH,
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1)
    subprocess.run(
        [
            py_spy,
            "record",
            "-p",
            str(target.pid),
            "-d",
            str(int(duration)),
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(raw),
        ],
        capture_output=True,
        check=False,
    )
    load.wait()
    if not raw.exists() or not raw.read_text():
        return None
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        for frame in set(stack.split(";")):
            inclusive[frame] = inclusive.get(frame, 0) + int(count)
    raw.unlink()
    top = sorted(inclusive.items(), key=lambda kv: -kv[1])
    boring = ("runpy", "click/", "uvicorn/main.py", "threading.py", "thread.py", "<module>")
    lines = [
        f"{100 * n / total:5.1f}%  {frame}"
        for frame, n in top
        if not any(b in frame for b in boring)
    ]
    return lines[:45]


def summarize(
    args: argparse.Namespace,
    measurements: list[Measurement],
    fixed: dict[str, LoadResult],
    redis_calls: dict[str, float],
    profile: list[str] | None,
    gateways: dict[str, ServiceProcess],
    wrk: str | None,
) -> dict[str, Any]:
    def runs(name: str, connections: int) -> list[Measurement]:
        return [m for m in measurements if m.target == name and m.connections == connections]

    table: dict[str, Any] = {}
    for name in dict.fromkeys(m.target for m in measurements):
        c64 = runs(name, 64)
        c256 = runs(name, 256)
        c1 = runs(name, 1)
        table[name] = {
            "rps_c64_median": round(statistics.median(m.load.rps for m in c64)) if c64 else None,
            "rps_c64_runs": [round(m.load.rps) for m in c64],
            "rps_c256": round(statistics.median(m.load.rps for m in c256)) if c256 else None,
            "rps_c256_runs": [round(m.load.rps) for m in c256],
            "c1_p50_ms": c1[0].load.p50_ms if c1 else None,
            "c1_p99_ms": c1[0].load.p99_ms if c1 else None,
            "fixed_rate_p50_ms": round(fixed[name].p50_ms, 3)
            if name in fixed and fixed[name].p50_ms
            else None,
            "fixed_rate_p99_ms": round(fixed[name].p99_ms, 3)
            if name in fixed and fixed[name].p99_ms
            else None,
            "cpu_us_per_request_c64": c64[-1].cpu_us_per_request if c64 else None,
            "non_2xx": sum(m.load.non_2xx for m in c64 + c256 + c1),
            "socket_errors": sum(m.load.errors for m in c64 + c256 + c1),
        }
    gw, nginx, origin = table.get("gateway[http1]"), table.get("nginx+limit_req"), table["origin"]
    targets: dict[str, Any] = {}
    if gw and nginx and nginx["rps_c64_median"]:
        # Per round, gateway and nginx ran back to back under the same background load.
        ratios = [
            round(g / n, 3) for g, n in zip(gw["rps_c64_runs"], nginx["rps_c64_runs"], strict=True)
        ]
        ratio = statistics.median(ratios)
        targets["throughput >= 25% of nginx+limit_req (c=64, median of per-round ratios)"] = {
            "value": ratio,
            "rounds": ratios,
            "met": ratio >= 0.25,
        }
    if gw:
        # c=64 and c=256 alternate within each round; medians over the rounds.
        held = gw["rps_c256"] / gw["rps_c64_median"]
        targets["no collapse: rps(c=256) >= 90% of rps(c=64)"] = {
            "value": round(held, 3),
            "met": held >= 0.9,
        }
        overhead = gw["c1_p50_ms"] - origin["c1_p50_ms"]
        targets["p50 overhead over the origin at c=1 <= 0.6 ms"] = {
            "value": round(overhead, 3),
            "met": overhead <= 0.6,
        }
        trips = redis_calls.get("gateway[http1] round trips (commands sent)")
        if trips is not None:
            targets["<= 1 Redis round trip per admitted request"] = {
                "value": round(trips, 4),
                "met": trips <= 1.0,
            }
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "load_average_before": os.getloadavg()},
        "method": {
            "load_generator": "wrk -t1" if wrk else "python closed loop",
            "duration_s": args.duration,
            "rounds_c64": args.rounds,
            "fixed_rate_per_s": args.rate,
            "path": PATH,
            "client_ips": IP_SPACE,
        },
        "results": table,
        "redis_commands_per_request": {k: round(v, 4) for k, v in redis_calls.items()},
        "targets": targets,
        "profile_gateway_http1_inclusive": profile,
    }


def write_results(summary: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = summary["when"].replace(":", "").replace("-", "")
    (RESULTS / f"gateway-{stamp}.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        f"# Gateway benchmark — {summary['when']}",
        "",
        f"Machine: {summary['machine']['cpus']} CPUs, shared by load generator, proxies, origin "
        f"and Redis; load average before the run {summary['machine']['load_average_before']}.",
        f"Method: {json.dumps(summary['method'])}",
        "",
        "| target | req/s c=64 (median; runs) | req/s c=256 (median; runs) | p50/p99 ms c=1 "
        "| p50/p99 ms fixed rate | CPU µs/req c=64 |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in summary["results"].items():
        lines.append(
            f"| {name} | {row['rps_c64_median']} ({', '.join(map(str, row['rps_c64_runs']))}) "
            f"| {row['rps_c256']} ({', '.join(map(str, row['rps_c256_runs']))}) "
            f"| {_fmt(row['c1_p50_ms'])}/{_fmt(row['c1_p99_ms'])} "
            f"| {_fmt(row['fixed_rate_p50_ms'])}/{_fmt(row['fixed_rate_p99_ms'])} "
            f"| {row['cpu_us_per_request_c64']} |"
        )
    lines += ["", "Redis commands per request:", ""]
    lines += [f"- {k}: {v}" for k, v in summary["redis_commands_per_request"].items()]
    lines += ["", "Redis failures and decisions taken without Redis (whole run):", ""]
    lines += [f"- {k}: {v or 'none'}" for k, v in summary["redis_failures_and_fallbacks"].items()]
    lines += ["", "Targets:", ""]
    lines += [
        f"- {'MET   ' if t['met'] else 'MISSED'} {name}: {t['value']}"
        + (f" (rounds: {t['rounds']})" if "rounds" in t else "")
        for name, t in summary["targets"].items()
    ]
    if summary["profile_gateway_http1_inclusive"]:
        lines += ["", "Gateway profile (py-spy, inclusive share of samples):", "", "```"]
        lines += summary["profile_gateway_http1_inclusive"]
        lines += ["```"]
    text = "\n".join(lines) + "\n"
    (RESULTS / "gateway-latest.md").write_text(text)
    (RESULTS / f"gateway-{stamp}.md").write_text(text)
    print()
    print(text)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(main())
