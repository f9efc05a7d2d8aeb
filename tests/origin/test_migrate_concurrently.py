"""``python -m origin migrate`` started by several processes at once on an empty database.

The migration lock (origin/migrate.py) lets one run the steps while the others wait and then
find the schema at head; through PgBouncer's transaction pooling too.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from origin import migrate
from tests.support import databases
from tests.support.pgbouncer import PgBouncer, start_pgbouncer
from tests.support.processes import ROOT

PROCESSES = 4


@pytest.fixture
def empty_database() -> Iterator[str]:
    url = databases.create_database("ce_migc")
    try:
        yield url
    finally:
        databases.drop_database(url)


@pytest.fixture(scope="module")
def bouncer() -> Iterator[PgBouncer]:
    started = start_pgbouncer(databases.ADMIN_URL)
    try:
        yield started
    finally:
        started.stop()


async def _versions(url: str) -> list[str]:
    connection = await asyncpg.connect(databases.asyncpg_url(url))
    try:
        rows = await connection.fetch("SELECT version_num FROM alembic_version")
        return [row["version_num"] for row in rows]
    finally:
        await connection.close()


def _migrate_at_once(database_url: str) -> list[subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_URL")}
    env["DATABASE_URL"] = database_url
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "origin", "migrate"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


@pytest.mark.parametrize("through", ["direct", "pgbouncer"])
def test_concurrent_migrations_all_succeed_and_migrate_once(
    empty_database: str, through: str, request: pytest.FixtureRequest
) -> None:
    url = empty_database
    if through == "pgbouncer":
        url = request.getfixturevalue("bouncer").url_for(empty_database)
    results = _migrate_at_once(url)
    assert [r.returncode for r in results] == [0] * PROCESSES, [r.stderr for r in results]
    assert all("database is at the newest schema" in r.stdout for r in results)
    head = ScriptDirectory.from_config(migrate.alembic_config(empty_database)).get_current_head()
    assert asyncio.run(_versions(empty_database)) == [head]
    migrate.check(empty_database)  # every table and index exactly as the models say
