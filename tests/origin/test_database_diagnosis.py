"""A wrong ``DATABASE_URL`` ends ``python -m origin migrate`` and the origin's start-up with one
line naming the problem and the fix; a publishable Stripe key stops start-up the same way."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit

import pytest

from tests.conftest import ROOT_DIR
from tests.support.databases import ADMIN_URL, sqlalchemy_url
from tests.support.processes import free_port

_SERVER = urlsplit(ADMIN_URL)
_USER = _SERVER.username or "postgres"
_HOST = _SERVER.hostname or "127.0.0.1"
_PORT = _SERVER.port or 5432

MISSING = f"ce_never_created_{uuid.uuid4().hex[:8]}"
# (DATABASE_URL, what the one line must say)
CASES = {
    "missing database": (
        sqlalchemy_url(f"postgresql://{_USER}@{_HOST}:{_PORT}/{MISSING}"),
        [f"database '{MISSING}' does not exist", f"createdb -h {_HOST} -p {_PORT}"],
    ),
    "unreachable server": (
        f"postgresql+asyncpg://{_USER}@127.0.0.1:{free_port()}/x",
        ["cannot reach PostgreSQL at 127.0.0.1:", "start the server or fix the host and port"],
    ),
    "malformed URL": (
        "postgresql+asyncpg://user@127.0.0.1:port/x",
        ["not a valid database URL", "postgresql+asyncpg://USER:PASSWORD@HOST:PORT/DATABASE"],
    ),
    "wrong scheme": ("postgres://user@127.0.0.1/x", ["must start with sqlite+aiosqlite://"]),
}


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ORIGIN_", "STRIPE_", "DATABASE_URL", "CENTRAL_"))
    }
    env.update(
        DATABASE_URL=database_url,
        ORIGIN_GATEWAY_TOKEN="t",
        STRIPE_SECRET_KEY="sk_test_x",
        STRIPE_WEBHOOK_SECRET="whsec_x",
        PYTHONPATH=str(ROOT_DIR),
    )
    env.update(extra)
    return env


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *command],
        env=env, cwd=ROOT_DIR, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_migrate_names_a_wrong_database_url_in_one_line(case: str) -> None:
    url, said = CASES[case]
    result = _run(["-m", "origin", "migrate"], _env(url))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("origin: ")
    assert "DATABASE_URL" in lines[0]
    for words in said:
        assert words in lines[0]


@pytest.mark.parametrize("case", list(CASES))
def test_origin_refuses_to_start_on_a_wrong_database_url_with_one_line(case: str) -> None:
    url, said = CASES[case]
    command = ["-m", "uvicorn", "origin.app:create_app", "--factory", "--port", "0"]
    result = _run(command, _env(url))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    named = [line for line in result.stderr.splitlines() if "DATABASE_URL" in line]
    assert len(named) == 1, result.stderr
    for words in said:
        assert words in named[0]


def test_migrate_hides_the_password_of_an_unreachable_server() -> None:
    url = f"postgresql+asyncpg://{_USER}:s3cret-pw@127.0.0.1:{free_port()}/x"
    result = _run(["-m", "origin", "migrate"], _env(url))
    assert result.returncode == 1
    assert "cannot reach PostgreSQL" in result.stderr
    assert "s3cret-pw" not in result.stderr


@pytest.mark.parametrize("key", ["pk_test_abc", "pk_live_abc", "sk_abc", "whsec_abc"])
def test_origin_refuses_a_key_that_is_not_a_secret_key(key: str) -> None:
    command = ["-m", "uvicorn", "origin.app:create_app", "--factory", "--port", "0"]
    result = _run(command, _env("sqlite+aiosqlite:///:memory:", STRIPE_SECRET_KEY=key))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "origin: invalid configuration: STRIPE_SECRET_KEY: Value error, must be a Stripe "
        "secret or restricted key (sk_test_…, sk_live_…, rk_test_…, rk_live_…), not a "
        "publishable key (pk_…)"
    ]
    assert key not in result.stderr


@pytest.mark.parametrize("key", ["sk_test_abc", "sk_live_abc", "rk_test_abc", "rk_live_abc"])
def test_origin_accepts_secret_and_restricted_keys(key: str) -> None:
    result = _run(
        ["-c", "from origin.settings import Settings; Settings()"],
        _env("sqlite+aiosqlite:///:memory:", STRIPE_SECRET_KEY=key),
    )
    assert result.returncode == 0, result.stderr
