"""What every service's ``/metrics`` carries besides its own counters.

Each app keeps its metrics in a registry of its own (tests build many apps in one process),
so the process-global collectors of prometheus_client are not there by themselves: this adds
``process_*`` (CPU, memory, open files, start time), ``python_info`` and ``python_gc_*`` to an
app's registry, and ``checkout_edge_build_info{service,version}`` (always 1), which names the
running version on dashboards and lets a rule tell a restart from a counter reset.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from checkout_edge_shared import version

__all__ = ["register_runtime_metrics"]


def register_runtime_metrics(registry: CollectorRegistry, service: str) -> None:
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    Gauge(
        "checkout_edge_build_info",
        "Always 1; the labels name the running service and version.",
        ["service", "version"],
        registry=registry,
    ).labels(service, version()).set(1)
