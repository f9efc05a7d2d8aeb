"""``python -m origin migrate | seed --file F [--reset-stock] | reap-holds | audit``.

Every command first connects to its database(s) once: a database that does not exist, a
server that does not answer or a malformed URL ends the command with one line naming the
variable and the fix (``origin/db_diagnosis.py``), before any work starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from checkout_edge_shared import version
from checkout_edge_shared.settings import SettingsError, load_settings
from origin import migrate
from origin.audit import AuditReport, Pool, audit_orders, audit_stock
from origin.catalog.catalog_file import CatalogError, load_catalog
from origin.catalog.seed import SeedReport, seed_catalog
from origin.checkout.reaper import reap_once
from origin.db import engine_scope, session_factory
from origin.db_diagnosis import probe
from origin.inventory.central_policy import CentralInventory, central_catalog
from origin.inventory.central_pool import CentralPoolUnavailable
from origin.metrics import OriginMetrics
from origin.models import Shop
from origin.models.types import utcnow
from origin.payments.stripe_client import StripePayments
from origin.settings import DatabaseSettings, Settings


def _separate_central(settings: DatabaseSettings) -> str | None:
    url = settings.central_inventory_database_url
    return url if url is not None and url != settings.database_url else None


async def _seed(
    database_url: str, path: Path, *, reset_stock: bool, central_url: str | None
) -> SeedReport:
    """Seed the origin's database; a separate central pool gets its part of the file too."""
    async with engine_scope(database_url, pool_size=1) as engine:
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            known = set((await session.execute(select(Shop.id))).scalars())
            catalog = load_catalog(path, known)
            report = await seed_catalog(session, catalog, reset_stock=reset_stock)
    if central_url is not None:
        async with (
            engine_scope(central_url, pool_size=1) as central_engine,
            session_factory(central_engine)() as central_session,
            central_session.begin(),
        ):
            await seed_catalog(central_session, central_catalog(catalog), reset_stock=reset_stock)
    return report


async def _reap(settings: Settings) -> int:
    metrics = OriginMetrics()
    async with engine_scope(settings.database_url, pool_size=2) as engine:
        payments = StripePayments(settings, metrics)
        sessions = session_factory(engine)
        # A separate central pool gets follow-ups queued for the holds this pass ends; the
        # origin's workers (or this pass's drain below) carry them out.
        central = CentralInventory.open(settings, metrics, sessions=sessions)
        try:
            reaped = await reap_once(
                sessions=sessions,
                payments=payments,
                metrics=metrics,
                remote_pool=central.remote_pool,
            )
            if central.database is not None:
                # Queued rows stay queued if the pool is down; a running origin retries them.
                with contextlib.suppress(CentralPoolUnavailable):
                    await central.database.follow_up()
            return reaped
        finally:
            await central.aclose()
            await payments.aclose()


def _database_problem(settings: DatabaseSettings) -> str | None:
    """The one line saying why a configured database cannot be used, or ``None``."""
    problem = asyncio.run(probe(settings.database_url))
    central = _separate_central(settings)
    if problem is None and central is not None:
        problem = asyncio.run(probe(central, "CENTRAL_INVENTORY_DATABASE_URL"))
    return problem


async def _audit(settings: DatabaseSettings) -> AuditReport:
    """The origin's stock and orders, and a separate central database's pool."""
    central_url = _separate_central(settings)
    report = AuditReport(checked_at=utcnow())
    async with engine_scope(settings.database_url, pool_size=1) as engine:
        sessions = session_factory(engine)
        pools: tuple[Pool, ...] = ("shop",) if central_url else ("shop", "central")
        async with sessions() as session, session.begin():
            report.imbalances = await audit_stock(session, pools=pools)
        async with sessions() as session, session.begin():
            report.violations = await audit_orders(session)
    if central_url is not None:
        async with (
            engine_scope(central_url, pool_size=1) as central_engine,
            session_factory(central_engine)() as session,
            session.begin(),
        ):
            report.imbalances += await audit_stock(session, pools=("central",))
    return report


def _print_audit(report: AuditReport) -> int:
    for imbalance in report.imbalances:
        print(imbalance.describe())
    for violation in report.violations:
        print(f"{violation.kind}: shop {violation.shop_id}, {violation.subject}")
    if report.ok:
        print("audit ok: stock adds up for every variant; orders, holds and sessions agree")
        return 0
    print(
        f"audit failed: {len(report.imbalances)} stock row(s) do not add up, "
        f"{len(report.violations)} order/hold invariant(s) broken",
        file=sys.stderr,
    )
    return 1


def main(argv: list[str] | None = None, *, prog: str = "python -m origin") -> int:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="upgrade the database to the newest schema")
    commands.add_parser(
        "reap-holds", help="one reaper pass: expire holds past their expiry, print how many"
    )
    commands.add_parser(
        "audit",
        help="check stock conservation and order/hold/session invariants; exit 1 on findings",
    )
    seed = commands.add_parser("seed", help="upsert shops, products, stock from a catalog file")
    seed.add_argument("--file", required=True, type=Path)
    seed.add_argument(
        "--reset-stock",
        action="store_true",
        help="set existing variants' stock to the file's (refused while holds are active)",
    )
    args = parser.parse_args(argv)

    try:
        settings = load_settings(Settings if args.command == "reap-holds" else DatabaseSettings)
    except SettingsError as exc:
        print(f"origin: {exc}", file=sys.stderr)
        return 1
    problem = _database_problem(settings)
    if problem is not None:
        print(f"origin: {problem}", file=sys.stderr)
        return 1

    if args.command == "reap-holds":
        assert isinstance(settings, Settings)
        print(f"expired {asyncio.run(_reap(settings))} hold(s)")
        return 0

    if args.command == "audit":
        try:
            audit = asyncio.run(_audit(settings))
        except (SQLAlchemyError, OSError) as exc:
            print(f"origin audit: cannot read the database: {exc}", file=sys.stderr)
            return 2
        return _print_audit(audit)
    central_url = _separate_central(settings)
    if args.command == "migrate":
        migrate.upgrade(settings.database_url)
        if central_url is not None:
            migrate.upgrade(central_url)
        print("database is at the newest schema")
        return 0
    try:
        report = asyncio.run(
            _seed(
                settings.database_url,
                args.file,
                reset_stock=args.reset_stock,
                central_url=central_url,
            )
        )
    except CatalogError as exc:
        print(f"origin seed: {exc}; nothing was written", file=sys.stderr)
        return 2
    print(f"seeded {args.file}: {report.summary()}")
    return 0


def cli() -> None:
    """Console script ``checkout-edge-origin``: the same commands as ``python -m origin``."""
    sys.exit(_interruptible(lambda: main(prog="checkout-edge-origin")))


def _interruptible(command: Callable[[], int]) -> int:
    # Ctrl-C ends a command with one line, not a traceback; a migration runs in one
    # transaction per revision, so an interrupted one leaves the previous revision in place.
    try:
        return command()
    except KeyboardInterrupt:
        print("origin: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(_interruptible(main))
