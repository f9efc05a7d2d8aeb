"""Load for the gateway benchmark: ``wrk`` (one thread), CPU and Redis accounting.

Every request carries one of 50,000 client IPs (a wrk Lua script), so every request is
admitted and each rate-limit window stays small, as with real traffic.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import redis

PATH = "/api/cart"
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

# Redis commands that run inside the rate-limit script (not round trips of their own).
SCRIPT_INTERNAL = {"time", "lindex", "lpush", "ltrim", "expire", "llen"}


@dataclass
class Target:
    name: str
    url: str
    pid: int
    headers: dict[str, str] = field(default_factory=dict)
    redis_url: str | None = None  # a gateway's own Redis: its commandstats are its alone
    redis_pid: int | None = None


@dataclass
class LoadResult:
    rps: float
    requests: int
    non_2xx: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None
    cpu_us: dict[str, float]  # CPU per request of each process involved


_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkCounts:
    """What one wrk run printed: every response (2xx or not), over ``seconds``."""

    requests: int
    seconds: float
    rps: float
    non_2xx: int
    socket_errors: int
    p50_ms: float | None
    p99_ms: float | None


def parse_wrk(output: str, stderr: str = "") -> WrkCounts:
    """The summary of ``wrk --latency``; RuntimeError when it printed none."""
    summary = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if summary is None or rps is None:
        raise RuntimeError(f"wrk failed: {output}{stderr}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    latency = {p: float(v) * _UNITS[u] for p, v, u in _LATENCY.findall(output)}
    return WrkCounts(
        requests=int(summary.group(1)),
        seconds=float(summary.group(2)) * _UNITS[summary.group(3)] / 1000,
        rps=float(rps.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
        p50_ms=latency.get("50"),
        p99_ms=latency.get("99"),
    )


def write_script(directory: Path) -> Path:
    script = directory / "ips.lua"
    script.write_text(WRK_SCRIPT % {"space": IP_SPACE})
    return script


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    wrk: str,
    target: Target,
    connections: int,
    seconds: int,
    script: Path,
    pids: dict[str, int],
) -> LoadResult:
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    for name, value in target.headers.items():
        command += ["-H", f"{name}: {value}"]
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    result = subprocess.run(
        [*command, target.url + PATH], capture_output=True, text=True, timeout=seconds + 30
    )
    after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    counts = parse_wrk(result.stdout, result.stderr)
    return LoadResult(
        rps=counts.rps,
        requests=counts.requests,
        non_2xx=counts.non_2xx,
        errors=counts.socket_errors,
        p50_ms=counts.p50_ms,
        p99_ms=counts.p99_ms,
        cpu_us={
            name: round(1e6 * (after[name] - before[name]) / max(counts.requests, 1), 1)
            for name in pids
        },
    )


def commandstats(url: str) -> dict[str, int]:
    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return {name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()}


def round_trips(before: dict[str, int], after: dict[str, int]) -> tuple[int, int]:
    """(commands sent by clients, EVALSHA among them) between two commandstats readings."""
    delta = {
        k: after.get(k, 0) - before.get(k, 0)
        for k in after
        if k not in {"info", "hello"} and not k.startswith("client")
    }
    sent = sum(v for k, v in delta.items() if k not in SCRIPT_INTERNAL)
    return sent, delta.get("evalsha", 0)
