"""The test run accepts PostgreSQL URLs in the driver's and in asyncpg's spelling."""

from __future__ import annotations

import pytest

from tests.support.databases import admin_url


@pytest.mark.parametrize(
    "given",
    [
        "postgresql://postgres@127.0.0.1:5432/test",
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
        "postgres://postgres@127.0.0.1:5432/test",
    ],
)
def test_admin_url_takes_either_spelling(given: str) -> None:
    assert admin_url(given) == "postgresql://postgres@127.0.0.1:5432/test"
