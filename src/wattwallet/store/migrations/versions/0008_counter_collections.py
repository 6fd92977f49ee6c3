"""counter_collections: which executive took each service-centre counter recharge

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counter_collections",
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("taken_by", sa.String(length=64), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_counter_collections")),
    )
    with op.batch_alter_table("counter_collections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_counter_collections_taken_by"), ["taken_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("counter_collections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_counter_collections_taken_by"))
    op.drop_table("counter_collections")
