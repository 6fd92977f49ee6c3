"""calendar sources: each year's basis (official list, DISCOM circular, computed), each day's
reference and confirmation, and an audit of every calendar change

Days seeded before this migration came from the `holidays` package: they become 'computed' and
unconfirmed, and their years have no calendar_years row, so the next load re-seeds them from the
shipped official list where there is one (staff changes are kept).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calendar_days", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=240), nullable=True))
        batch_op.add_column(sa.Column("confirmed", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("reason_te", sa.String(length=120), nullable=True))
    op.execute("UPDATE calendar_days SET source = 'computed', confirmed = false WHERE source = 'seed'")
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=240), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
    )
    op.create_table(
        "calendar_audit",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=240), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_audit")),
    )
    with op.batch_alter_table("calendar_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_audit_year"), ["year"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calendar_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_audit_year"))
    op.drop_table("calendar_audit")
    op.drop_table("calendar_years")
    op.execute("UPDATE calendar_days SET source = 'seed' WHERE source <> 'staff'")
    with op.batch_alter_table("calendar_days", schema=None) as batch_op:
        batch_op.drop_column("reason_te")
        batch_op.drop_column("confirmed")
        batch_op.drop_column("reference")
