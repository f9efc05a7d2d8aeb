"""Programs outside Python that the suite drives for real (browsers, servers, linters).

Each entry names the executable, how to install it, and what needs it. ``missing()`` is
checked once when the run starts: a missing program stops the run with one line that says
how to install it (``.ci/run`` installs them all) — tests are never skipped for this.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Tool:
    executable: str
    install: str
    needed_by: str


TOOLS: tuple[Tool, ...] = (
    Tool("redis-server", "apt-get install redis-server", "private Redis servers in tests"),
    Tool(
        "chromium",
        "apt-get install chromium",
        "the storefront's browser tests (Playwright) and rendering docs/api/index.html",
    ),
    Tool("pgbouncer", "apt-get install pgbouncer", "the origin through transaction pooling"),
    Tool("nginx", "apt-get install nginx", "checking deploy/nginx with nginx -t"),
    Tool(
        "redis-cli", "apt-get install redis-tools", "the Redis Cluster fixture (--cluster create)"
    ),
    Tool("openssl", "apt-get install openssl", "TLS certificates for the Redis TLS tests"),
    Tool("promtool", "apt-get install prometheus", "alert rule tests, deploy/ Prometheus config"),
    Tool("prometheus", "apt-get install prometheus", "scraping the stack for the dashboards"),
)


def missing() -> list[Tool]:
    """The tools not found on PATH (or at their absolute path)."""
    return [tool for tool in TOOLS if shutil.which(tool.executable) is None]


def missing_line(tools: list[Tool]) -> str:
    """One line naming every missing tool and the command that installs them."""
    names = ", ".join(f"{tool.executable} (for {tool.needed_by})" for tool in tools)
    commands = "; ".join(dict.fromkeys(tool.install for tool in tools))
    return f"missing programs: {names} — install with: {commands} (or run .ci/run)"
