"""One worker per process: ``uvicorn --workers 2`` refuses to start, with one line.

With two workers each scrape reaches one of them, so counters jump between two values;
docs/observability.md explains the choice.
"""

from __future__ import annotations

import subprocess
import sys

from checkout_edge_shared.workers import requested_workers
from tests.conftest import ROOT_DIR, gateway_process_env
from tests.support.processes import free_port


def test_the_worker_count_is_read_like_uvicorn_reads_it() -> None:
    assert requested_workers(["uvicorn", "app", "--workers", "3"], {}) == 3
    assert requested_workers(["uvicorn", "app", "--workers=2"], {}) == 2
    assert (
        requested_workers(["gunicorn", "-w", "4", "-k", "uvicorn.workers.UvicornWorker"], {}) == 4
    )
    assert requested_workers(["uvicorn", "app"], {"WEB_CONCURRENCY": "4"}) == 4
    assert requested_workers(["uvicorn", "app", "--workers", "1"], {"WEB_CONCURRENCY": "4"}) == 1
    assert requested_workers(["uvicorn", "app"], {}) == 1


def test_uvicorn_with_two_workers_stops_with_one_line() -> None:
    env = {
        **gateway_process_env("http://127.0.0.1:9", "front"),
        "PYTHONPATH": str(ROOT_DIR),
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [
            sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(free_port()), "--workers", "2",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT_DIR,
        timeout=60,
        check=False,
    )  # fmt: skip
    refusals = [line for line in result.stderr.splitlines() if "run one worker per process" in line]
    assert refusals, result.stderr[-2000:]
    assert refusals[0].startswith("gateway: run one worker per process (asked for 2)")
