"""One worker per service process, enforced: ``uvicorn --workers N`` (N > 1) refuses to start.

Each process keeps its metrics in its own memory. Behind ``--workers 2`` every scrape reaches
one worker at random, so a counter reads 10, 20, 10, 20 … and ``rate()`` sees resets that never
happened. Prometheus' multiprocess mode would merge the workers' files, but it cannot give
``process_*`` metrics per worker, drops callback gauges and needs a shared directory cleaned
on every restart; instead a deployment runs one worker per process (container) and scales
by adding processes, each scraped on its own (``docs/observability.md``).

uvicorn starts its workers with multiprocessing's ``spawn``, which gives each child the
parent's command line, so a worker can see the ``--workers`` it was started with (gunicorn's
forked workers see theirs, ``-w``/``--workers``, the same way; both honour ``WEB_CONCURRENCY``).
``CHECKOUT_EDGE_ALLOW_WORKERS=1`` lets a benchmark measure several workers anyway (their
metrics are then wrong, as described). The refusal
stops the whole server: under uvicorn the worker asks its supervisor to shut down (uvicorn
would otherwise restart a worker that exits); it exits with status 3, which gunicorn's arbiter
takes as "worker failed to boot" and stops on.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Mapping, Sequence

__all__ = ["refuse_worker_processes", "requested_workers"]


def requested_workers(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """The worker count a uvicorn command line (or ``WEB_CONCURRENCY``) asks for."""
    value: str | None = environ.get("WEB_CONCURRENCY")
    for index, arg in enumerate(argv):
        if arg in ("--workers", "-w") and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith("--workers="):
            value = arg.partition("=")[2]
    try:
        return max(1, int(value)) if value is not None else 1
    except ValueError:
        return 1


def refuse_worker_processes(service: str) -> None:
    """Exit (stopping uvicorn's supervisor too) when this process is one of several workers."""
    workers = requested_workers(sys.argv, os.environ)
    if workers <= 1 or os.environ.get("CHECKOUT_EDGE_ALLOW_WORKERS") == "1":
        return
    print(
        f"{service}: run one worker per process (asked for {workers}): each worker has its own "
        "metrics, so a scrape would see one of them; start more processes instead",
        file=sys.stderr,
        flush=True,
    )
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        os.kill(parent.pid, signal.SIGTERM)
    raise SystemExit(3)
