"""refunds: money the payment gateway took that was never credited, and who refunded it

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("intent_id", sa.String(length=40), nullable=False),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("gateway_payment_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_by", sa.String(length=64), nullable=True),
        sa.Column("refund_reference", sa.String(length=64), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.CheckConstraint("status IN ('due', 'refunded')", name=op.f("ck_refunds_status")),
        sa.ForeignKeyConstraint(
            ["service_no"], ["connections.service_no"], name=op.f("fk_refunds_service_no_connections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
        sa.UniqueConstraint("intent_id", name=op.f("uq_refunds_intent_id")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_service_no"), ["service_no"], unique=False)
        batch_op.create_index("ix_refunds_status_created_at", ["status", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_status_created_at")
        batch_op.drop_index(batch_op.f("ix_refunds_service_no"))
    op.drop_table("refunds")
