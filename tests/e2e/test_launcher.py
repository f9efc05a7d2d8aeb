"""``make run``'s launcher never lies: one instance, named port holders, nothing left behind.

Every test runs the real ``deploy/run_local.py`` (its own var dir and ports) and reads its
piped output.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import (
    asyncpg_url,
    create_database,
    create_migrated_database,
    drop_database,
)
from tests.support.launcher import BANNER, PREFIX, Launch, all_gone, launcher_env
from tests.support.processes import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def launches() -> Iterator[list[Launch]]:
    started: list[Launch] = []
    yield started
    for launch in started:
        launch.close()


def test_two_launchers_at_once_give_one_banner_and_one_clear_refusal(
    tmp_path: Path, launches: list[Launch]
) -> None:
    env = launcher_env(tmp_path / "var")
    first, second = Launch(env), Launch(env)
    launches += [first, second]
    loser = None
    deadline = time.monotonic() + 90
    while loser is None and time.monotonic() < deadline:
        loser = next((launch for launch in (first, second) if launch.proc.poll() is not None), None)
        time.sleep(0.05)
    assert loser is not None, first.output + second.output
    winner = second if loser is first else first
    assert loser.wait() == 1
    (line,) = loser.lines
    assert f"already running here (pid {winner.proc.pid}" in line
    winner.wait_for(BANNER)
    assert [launch for launch in (first, second) if BANNER in launch.output] == [winner]
    assert winner.proc.poll() is None
    assert httpx.get(winner.url("gateway") + "/healthz").status_code == 200


def test_busy_port_names_the_process_holding_it_before_anything_runs(
    tmp_path: Path, launches: list[Launch]
) -> None:
    env = launcher_env(tmp_path / "var")
    port = int(env["ORIGIN_PORT"])
    listen = (
        "import socket, sys, time; s = socket.socket(); "
        f"s.bind(('127.0.0.1', {port})); s.listen(); print('ready', flush=True); time.sleep(120)"
    )
    holder = subprocess.Popen([sys.executable, "-c", listen], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        launch = Launch(env)
        launches.append(launch)
        assert launch.wait() == 1
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    (line,) = launch.lines
    assert f"port {port} (origin) is in use by pid {holder.pid} ({sys.executable} -c" in line
    assert line.endswith("stop it or set ORIGIN_PORT")
    assert not (tmp_path / "var" / "origin.db").exists()  # checked before migrate


def test_kill_9_of_the_launcher_takes_every_child_within_a_second(
    tmp_path: Path, launches: list[Launch]
) -> None:
    launch = Launch(launcher_env(tmp_path / "var"))
    launches.append(launch)
    launch.wait_for(BANNER)
    children = launch.children()
    assert len(children) == 4  # stand-in, origin, gateway, front door
    os.kill(launch.proc.pid, signal.SIGKILL)
    assert all_gone(children, within=1.0)
    assert launch.wait() == -signal.SIGKILL
    # The next run finds its ports free and the lock released.
    again = Launch(launch.env)
    launches.append(again)
    again.wait_for(BANNER)


class _LockedTable:
    """An open transaction holding ``table`` exclusively, so whatever reads it waits."""

    def __init__(self, url: str, table: str) -> None:
        self.url, self.table = asyncpg_url(url), table
        self.loop = asyncio.new_event_loop()
        self.connection = self.loop.run_until_complete(asyncpg.connect(self.url))
        self.loop.run_until_complete(self.connection.execute("BEGIN"))
        statement = f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
        self.loop.run_until_complete(self.connection.execute(statement))

    def someone_waits(self) -> bool:
        # pg_locks, not pg_stat_activity: the latter is a snapshot held for the transaction.
        query = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = $1::regclass"
        waiting: int = self.loop.run_until_complete(self.connection.fetchval(query, self.table))
        return waiting > 0

    def release(self) -> None:
        self.loop.run_until_complete(self.connection.close())
        self.loop.close()


@pytest.fixture
def pg_database() -> Iterator[str]:
    url = create_migrated_database("ce_launcher")
    yield url
    drop_database(url)


@pytest.mark.parametrize(
    ("phase", "table"),
    [("migrate", "alembic_version"), ("seed", "shops"), ("start-up", None), ("running", None)],
)
def test_ctrl_c_at_each_phase_is_one_line_status_0_and_nothing_left(
    tmp_path: Path, launches: list[Launch], pg_database: str, phase: str, table: str | None
) -> None:
    locked = _LockedTable(pg_database, table) if table else None
    try:
        launch = Launch(launcher_env(tmp_path / "var", DATABASE_URL=pg_database))
        launches.append(launch)
        if locked is not None:  # the step's child is blocked on the table: mid-step for sure
            deadline = time.monotonic() + 60
            while not locked.someone_waits() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert locked.someone_waits(), launch.output
        else:
            launch.wait_for("starting stripe" if phase == "start-up" else BANNER)
        children = launch.children()
        assert children
        before = len(launch.texts())
        launch.interrupt()
        assert launch.wait() == 0, launch.output
    finally:
        if locked is not None:
            locked.release()
    assert launch.texts()[before:] == [f"stopped by Ctrl-C during {phase}; nothing is left running"]
    assert "Traceback" not in launch.output
    assert "KeyboardInterrupt" not in launch.output
    assert all_gone(children, within=1.0)


@pytest.fixture(scope="module")
def degraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launch]:
    """A stack on PostgreSQL (a password in the URL) whose configured Redis is down."""
    database = create_database("ce_launcher")
    with_password = (
        make_url(database).set(password="db-pass-1234").render_as_string(hide_password=False)
    )
    redis_port = free_port()
    launch = Launch(
        launcher_env(
            tmp_path_factory.mktemp("degraded") / "var",
            DATABASE_URL=with_password,
            GATEWAY_REDIS_URL=f"redis://:redis-pass-5678@127.0.0.1:{redis_port}/0",
        )
    )
    try:
        launch.wait_for(BANNER)
        yield launch
    finally:
        launch.close()
        drop_database(database)


def test_unreachable_redis_is_said_in_one_line_before_a_degraded_banner(degraded: Launch) -> None:
    said = degraded.texts()
    banner = next(i for i, text in enumerate(said) if text.startswith(BANNER))
    assert said[banner] == (
        "checkout-edge is running, degraded: Redis unreachable (Ctrl-C stops everything)"
    )
    (warning,) = [text for text in said if "GATEWAY_REDIS_URL" in text]
    assert said.index(warning) < banner
    assert warning.startswith("Redis at redis://:***@127.0.0.1:")
    assert "is unreachable; each gateway process limits on its own" in warning


def test_no_secret_in_the_output_or_on_any_child_command_line(degraded: Launch) -> None:
    secrets = json.loads(Path(degraded.env["RUN_VAR_DIR"], "dev-secrets.json").read_text())
    hidden = [*secrets.values(), "db-pass-1234", "redis-pass-5678"]
    assert "postgres:***@" in degraded.output
    children = degraded.children()
    assert len(children) == 4
    for pid in children:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
        for secret in hidden:
            assert secret not in command, command
    for secret in hidden:
        assert secret not in degraded.output


def _served_lines(tmp_path: Path, launches: list[Launch], **env: str) -> Launch:
    """A launch that served one request through the gateway and was stopped by Ctrl-C."""
    launch = Launch(launcher_env(tmp_path / "var", **env))
    launches.append(launch)
    launch.wait_for(BANNER)
    headers = {"x-front-door-token": "wrong", "x-shop-id": "cochlearfit"}
    refused = httpx.post(launch.url("gateway") + "/api/inventory/validate", headers=headers)
    assert refused.status_code == 401
    launch.interrupt()
    assert launch.wait() == 0
    return launch


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_piped_output_is_one_prefixed_line_per_event_without_escape_codes(
    tmp_path: Path, launches: list[Launch], log_format: str
) -> None:
    env = {"LOG_FORMAT": log_format} if log_format == "json" else {}
    launch = _served_lines(tmp_path, launches, **env)
    assert "\x1b" not in launch.output
    assert "color_message" not in launch.output
    names = {"run", "migrate", "seed", "catalogs", "stripe", "origin", "gateway", "front door"}
    for line in launch.lines:
        match = PREFIX.match(line)
        assert match is not None, line
        assert match["name"] in names, line
    for service in ("origin", "gateway"):
        texts = launch.texts(service)
        assert texts, launch.output
        for text in texts:
            if log_format == "json":
                assert json.loads(text)["service"] == service, text
            else:
                assert not text.startswith("{"), text
                assert not text.startswith("INFO:"), text  # uvicorn's own format, unrouted


def test_a_missing_database_stops_the_launch_at_migrate_with_the_fix(
    tmp_path: Path, launches: list[Launch], pg_database: str
) -> None:
    missing = make_url(pg_database).set(database="ce_launcher_never_created")
    url = missing.render_as_string(hide_password=False)
    launch = Launch(launcher_env(tmp_path / "var", DATABASE_URL=url))
    launches.append(launch)
    assert launch.wait() == 1
    (problem,) = launch.texts("migrate")
    assert "database 'ce_launcher_never_created' does not exist" in problem
    assert "createdb" in problem
    assert launch.texts()[-1] == "migrate failed (status 1); nothing was started"
    assert launch.texts("seed") == []
    assert "Traceback" not in launch.output
