"""mobile_changes: the audit of registered-mobile changes; notifications.recipient

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mobile_changes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("old_mobile", sa.String(length=16), nullable=False),
        sa.Column("new_mobile", sa.String(length=16), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("changed_by", sa.String(length=64), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_no"], ["connections.service_no"], name=op.f("fk_mobile_changes_service_no_connections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mobile_changes")),
    )
    with op.batch_alter_table("mobile_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mobile_changes_service_no"), ["service_no"], unique=False)
    # A message to a number other than the registered one (the old number, told of a change).
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("recipient")
    with op.batch_alter_table("mobile_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mobile_changes_service_no"))
    op.drop_table("mobile_changes")
