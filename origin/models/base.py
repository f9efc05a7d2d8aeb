"""The metadata every table shares, with deterministic constraint names.

Named constraints are what lets Alembic alter them on SQLite (batch mode) and lets
``alembic check`` compare models with migrations without spurious drift.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from origin.models.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata


def timestamp(*, nullable: bool = False, index: bool = False) -> Any:
    """A UTC timestamp column; non-nullable ones default to now."""
    return Field(
        default_factory=None if nullable else utcnow,
        sa_column=Column(UTCDateTime(), nullable=nullable, index=index),
    )


__all__ = ["NAMING_CONVENTION", "datetime", "metadata", "timestamp"]
