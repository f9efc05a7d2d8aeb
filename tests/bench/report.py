"""The gateway benchmark's figures: the table of the issue, ratios, goals, profiles."""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bench.load import PATH, LoadResult, Target
from tests.support.processes import ROOT

RESULTS = ROOT / "tests" / "bench" / "results"
FLOOR = "Python floor (uvicorn + cheapest app)"
UPSTREAM = "upstream alone (nginx)"
LIMIT_REQ = "nginx + limit_req"


@dataclass
class Report:
    duration: int
    rounds: int
    load_before: tuple[float, float, float]
    runs: dict[str, dict[int, list[LoadResult]]] = field(default_factory=dict)
    # admitted, commands sent, EVALSHA, decisions taken without Redis (fallback)
    redis: dict[str, list[int]] = field(default_factory=dict)
    profiles: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, connections: int, result: LoadResult) -> None:
        self.runs.setdefault(name, {}).setdefault(connections, []).append(result)

    def add_redis(self, name: str, admitted: int, sent: int, evalsha: int, fallback: int) -> None:
        totals = self.redis.setdefault(name, [0, 0, 0, 0])
        for i, value in enumerate((admitted, sent, evalsha, fallback)):
            totals[i] += value

    def cpu(self, name: str) -> float:
        """Median CPU µs per request at c64 of the setup's own process."""
        return statistics.median(r.cpu_us["server"] for r in self.runs[name][64])

    def rps(self, name: str, connections: int) -> list[float]:
        return [r.rps for r in self.runs.get(name, {}).get(connections, [])]

    def median(self, name: str, connections: int) -> float:
        return statistics.median(self.rps(name, connections))

    def p50(self, name: str) -> float:
        return statistics.median(r.p50_ms or 0.0 for r in self.runs[name][1])

    def ratio(self, name: str, other: str, connections: int) -> float:
        """Median over rounds of name/other (both ran back to back in each round)."""
        pairs = zip(self.rps(name, connections), self.rps(other, connections), strict=True)
        return statistics.median(a / b for a, b in pairs)


def profile(py_spy: str, target: Target, wrk: str, script: Path, label: str) -> list[str]:
    """py-spy under 64 connections: a flame graph SVG and the inclusive top frames."""
    slug = target.name.replace(" ", "-").replace("(", "").replace(")", "")
    svg = RESULTS / f"{slug}-flame{'-' + label if label else ''}.svg"
    raw = Path(tempfile.mkstemp(suffix=".txt")[1])
    lines: list[str] = []
    for fmt, out in (("flamegraph", svg), ("raw", raw)):
        load = subprocess.Popen(
            [wrk, "-t1", "-c64", "-d8s", "-s", str(script)]
            + [arg for n, v in target.headers.items() for arg in ("-H", f"{n}: {v}")]
            + [target.url + PATH],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(1)
        subprocess.run(
            [
                *(py_spy, "record", "-p", str(target.pid), "-d", "5", "-r", "250"),
                *("-f", fmt, "-o", str(out), "--nonblocking"),
            ],
            capture_output=True,
            check=False,
        )
        load.wait()
    if raw.exists() and raw.read_text():
        inclusive: dict[str, int] = {}
        total = 0
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            total += int(count)
            for frame in set(stack.split(";")):
                inclusive[frame] = inclusive.get(frame, 0) + int(count)
        boring = ("runpy", "click/", "uvicorn/main.py", "threading.py", "<module>")
        top = sorted(inclusive.items(), key=lambda kv: -kv[1])
        lines = [f"{100 * n / total:5.1f}%  {f}" for f, n in top if not any(b in f for b in boring)]
    raw.unlink(missing_ok=True)
    return [f"flame graph: {svg.relative_to(ROOT)}", *lines[:40]]


def summary(report: Report) -> dict[str, Any]:
    table = {}
    for name in report.runs:
        row: dict[str, Any] = {f"rps_c{c}": round(report.median(name, c)) for c in (1, 64, 256)}
        row["p50_c1_ms"] = round(report.p50(name), 3)
        row["rps_c64_runs"] = [round(x) for x in report.rps(name, 64)]
        row["vs_floor_c64"] = round(report.ratio(name, FLOOR, 64), 3)
        row["vs_limit_req_c64"] = round(report.ratio(name, LIMIT_REQ, 64), 3)
        row["c256_over_c64"] = round(report.median(name, 256) / report.median(name, 64), 3)
        row["p50_overhead_c1_ms"] = round(report.p50(name) - report.p50(UPSTREAM), 3)
        row["cpu_us_per_request_c64"] = report.runs[name][64][-1].cpu_us
        # Requests per CPU-second of the setup's own process: steadier than req/s when
        # the machine is shared (other jobs take cores, not this process' CPU time).
        row["requests_per_cpu_second"] = round(1e6 / report.cpu(name))
        row["per_cpu_vs_floor"] = round(report.cpu(FLOOR) / report.cpu(name), 3)
        row["non_2xx"] = sum(r.non_2xx for runs in report.runs[name].values() for r in runs)
        if name in report.redis:
            admitted, sent, evalsha, fallback = report.redis[name]
            on_redis = max(admitted - fallback, 1)  # decided by Redis
            row["redis_round_trips_per_admitted"] = round(sent / on_redis, 4)
            row["redis_evalsha_per_admitted"] = round(evalsha / on_redis, 4)
            row["admitted_counted"] = admitted
            row["decided_without_redis"] = fallback
        table[name] = row
    goals = {}
    if "gateway" in table:
        gw = table["gateway"]
        goals = {
            "gateway >= 25% of the Python floor at c64": (
                gw["vs_floor_c64"],
                gw["vs_floor_c64"] >= 0.25,
            ),
            "p50 overhead over the upstream at c1 <= 0.3 ms": (
                gw["p50_overhead_c1_ms"],
                gw["p50_overhead_c1_ms"] <= 0.3,
            ),
            "c256 >= 0.9 x c64": (gw["c256_over_c64"], gw["c256_over_c64"] >= 0.9),
            "exactly one Redis round trip per admitted request": (
                gw.get("redis_round_trips_per_admitted"),
                gw.get("redis_round_trips_per_admitted") == 1.0,
            ),
        }
    return {"table": table, "goals": goals}


def write_report(report: Report, label: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    data = summary(report)
    lines = [
        f"# Gateway benchmark — {when}",
        "",
        f"2 cores shared by wrk (-t1), the servers and Redis; load average before "
        f"{tuple(round(x, 2) for x in report.load_before)}; {report.rounds} interleaved "
        f"rounds of {report.duration} s per setup and connection count, medians; "
        "every request from a new client IP.",
        "",
        "| setup | req/s c1 | req/s c64 | req/s c256 | p50 c1 | c64 vs floor "
        "| c64 vs nginx+limit_req | c256/c64 | CPU µs/req c64 | req per CPU-s (vs floor) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in data["table"].items():
        lines.append(
            f"| {name} | {row['rps_c1']:,} | {row['rps_c64']:,} | {row['rps_c256']:,} "
            f"| {row['p50_c1_ms']:.3f} ms | {row['vs_floor_c64']:.0%} "
            f"| {row['vs_limit_req_c64']:.0%} "
            f"| {row['c256_over_c64']:.2f} | {row['cpu_us_per_request_c64']} "
            f"| {row['requests_per_cpu_second']:,} ({row['per_cpu_vs_floor']:.0%}) |"
        )
    lines += ["", "Redis (commandstats of each gateway's private Redis):", ""]
    for name, row in data["table"].items():
        if "redis_round_trips_per_admitted" in row:
            lines.append(
                f"- {name}: {row['redis_round_trips_per_admitted']} round trips and "
                f"{row['redis_evalsha_per_admitted']} EVALSHA per request decided by Redis "
                f"({row['admitted_counted']:,} admitted, {row['decided_without_redis']:,} of "
                f"them decided without Redis after a missed deadline); "
                f"non-2xx {row['non_2xx']}"
            )
    lines += ["", "Goals (gateway):", ""]
    for goal, (value, met) in data["goals"].items():
        lines.append(f"- {'MET   ' if met else 'MISSED'} {goal}: {value}")
    for name, frames in report.profiles.items():
        lines += ["", f"Profile of {name} (py-spy, inclusive share of samples, c64):", "", "```"]
        lines += frames
        lines += ["```"]
    text = "\n".join(lines) + "\n"
    suffix = f"-{label}" if label else ""
    stamp = when.replace(":", "").replace("-", "")
    (RESULTS / f"gateway-{stamp}{suffix}.json").write_text(
        json.dumps({"when": when, **data, "profiles": report.profiles}, indent=2) + "\n"
    )
    (RESULTS / f"gateway-{stamp}{suffix}.md").write_text(text)
    (RESULTS / "gateway-latest.md").write_text(text)
    print()
    print(text)
