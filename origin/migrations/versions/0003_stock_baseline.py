"""stock baseline for the conservation audit

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 19:10:00

Adds ``stocked`` to ``variants`` and ``central_stock``: the units a row was stocked with, which
``available`` + held + sold must always add up to (``python -m origin audit``). Existing rows
are given the baseline they have now — available plus what active and committed holds
carry — so the audit starts from today's counts; it cannot know about units lost before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = (("variants", "variant_id"), ("central_stock", "central_stock_id"))


def upgrade() -> None:
    for table, column in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("stocked", sa.Integer(), nullable=True))
        op.execute(
            f"UPDATE {table} SET stocked = available + ("  # noqa: S608 (fixed names)
            "SELECT COALESCE(SUM(i.quantity), 0) FROM hold_items i "
            "JOIN inventory_holds h ON h.id = i.hold_id "
            f"WHERE i.{column} = {table}.id AND h.status IN ('active', 'committed'))"
        )
        with op.batch_alter_table(table) as batch:
            batch.alter_column("stocked", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    for table, _column in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("stocked")
