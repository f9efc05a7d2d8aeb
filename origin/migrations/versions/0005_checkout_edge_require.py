"""checkout_edge_require(): a statement that refuses to finish

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 22:30:00

PostgreSQL only. ``checkout_edge_require(ok, reason)`` returns true when ``ok`` and otherwise
raises ``reason`` (SQLSTATE P0001), which aborts the statement that called it with every row
it wrote. The one-statement checkout (``origin.checkout.one_statement``) uses it to give
back the stock it took from some rows when another row was short, without a transaction
block around it. SQLite has no stored functions and never runs that statement.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE OR REPLACE FUNCTION checkout_edge_require(ok boolean, reason text)
        RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN
            IF ok THEN
                RETURN true;
            END IF;
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = reason;
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS checkout_edge_require(boolean, text)")
