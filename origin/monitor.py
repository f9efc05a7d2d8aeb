"""The stock audit and the live-stock gauges, refreshed in the background.

Every origin process that runs the reaper also runs this loop at the reaper's interval: it
reads the shops that exist (their series start at 0, see ``origin/metrics.py``), sets
``inventory_units_held{shop}``, runs the audit of ``origin/audit.py`` and publishes what it
found as ``inventory_conservation_imbalances{pool}`` and ``orders_audit_violations{kind}``.
A pass that fails is logged and retried next time; the gauge
``inventory_audit_last_success_timestamp_seconds`` then stops moving, which an alert watches.
A central pool in a database of its own is audited by ``python -m origin audit``, not here
(this loop reads the origin's database only).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from origin.audit import AuditReport, Pool, audit_orders, audit_stock, units_held
from origin.metrics import AUDIT_KINDS, OriginMetrics
from origin.models.types import utcnow
from origin.settings import Settings

__all__ = ["MonitorScope", "monitor_scope", "refresh", "run_monitor"]

log = logging.getLogger("origin.monitor")
# Findings logged per pass; the rest is in the gauges and in `python -m origin audit`.
_LOGGED_FINDINGS = 20


@dataclass(frozen=True, slots=True)
class MonitorScope:
    """What this process audits and the label values its shop series start with."""

    pools: tuple[Pool, ...]
    reprice_mode: str
    env: str


def monitor_scope(settings: Settings, *, separate_central: bool) -> MonitorScope:
    """The central pool is audited here only when it shares the origin's database."""
    return MonitorScope(
        pools=("shop",) if separate_central else ("shop", "central"),
        reprice_mode=settings.checkout_reprice_policy,
        env=settings.origin_env,
    )


async def refresh(
    sessions: async_sessionmaker[AsyncSession], metrics: OriginMetrics, scope: MonitorScope
) -> AuditReport:
    """One pass: shop series, units held now, the audit; returns what the audit found."""
    async with sessions() as session, session.begin():
        shops = [str(row[0]) for row in await session.execute(text("SELECT id FROM shops"))]
        held = await units_held(session)
    metrics.start_series(shops, reprice_mode=scope.reprice_mode, env=scope.env)
    for shop in shops:
        metrics.units_held.labels(shop).set(held.get(shop, 0))
    report = AuditReport(checked_at=utcnow())
    async with sessions() as session, session.begin():
        report.imbalances = await audit_stock(session, pools=scope.pools)
    async with sessions() as session, session.begin():
        report.violations = await audit_orders(session)
    per_pool = Counter(imbalance.pool for imbalance in report.imbalances)
    for pool in ("shop", "central"):
        metrics.conservation_imbalances.labels(pool).set(per_pool.get(pool, 0))
    per_kind = Counter(violation.kind for violation in report.violations)
    for kind in AUDIT_KINDS:
        metrics.audit_violations.labels(kind).set(per_kind.get(kind, 0))
    metrics.audit_last_success.set_to_current_time()
    for imbalance in report.imbalances[:_LOGGED_FINDINGS]:
        log.error("stock does not add up", extra=imbalance.fields())
    for violation in report.violations[:_LOGGED_FINDINGS]:
        log.error(
            "order invariant broken",
            extra={"kind": violation.kind, "shop": violation.shop_id, "id": violation.subject},
        )
    return report


async def run_monitor(
    sessions: async_sessionmaker[AsyncSession],
    metrics: OriginMetrics,
    scope: MonitorScope,
    *,
    interval: float,
) -> None:
    """The lifespan's background task: a refresh every ``interval`` seconds until cancelled."""
    while True:
        try:
            await refresh(sessions, metrics, scope)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("stock audit failed; will retry")
        await asyncio.sleep(interval)
