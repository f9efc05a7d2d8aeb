"""cart revision

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 19:15:00

Carts get a ``revision`` that every change increases; a keyless cart checkout is keyed on it
(docs/checkout.md). Existing carts start at 0.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("carts", sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    # Batch mode: SQLite rebuilds the table to drop a column.
    with op.batch_alter_table("carts") as batch:
        batch.drop_column("revision")
