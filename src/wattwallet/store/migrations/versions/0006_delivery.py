"""message delivery: outbox deliveries, channel opt-ins

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("notification_id", _BIG_ID, nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("address", sa.String(length=20), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("encoding", sa.String(length=8), nullable=True),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retried_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("channel IN ('sms', 'whatsapp', 'app')", name=op.f("ck_deliveries_channel")),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'dead')", name=op.f("ck_deliveries_status")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_deliveries_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_deliveries_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("notification_id", "channel", name=op.f("uq_deliveries_notification_id_channel")),
    )
    due = sa.text("next_attempt_at IS NOT NULL")
    op.create_index(
        "ix_deliveries_due", "deliveries", ["next_attempt_at"], postgresql_where=due, sqlite_where=due
    )
    dead = sa.text("status = 'dead'")
    op.create_index(
        "ix_deliveries_dead", "deliveries", ["updated_at"], postgresql_where=dead, sqlite_where=dead
    )
    op.create_table(
        "channel_preferences",
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "channel IN ('sms', 'whatsapp', 'app')", name=op.f("ck_channel_preferences_channel")
        ),
        sa.ForeignKeyConstraint(
            ["service_no"],
            ["connections.service_no"],
            name=op.f("fk_channel_preferences_service_no_connections"),
        ),
        sa.PrimaryKeyConstraint("service_no", "channel", name=op.f("pk_channel_preferences")),
    )


def downgrade() -> None:
    op.drop_table("channel_preferences")
    op.drop_index("ix_deliveries_dead", table_name="deliveries")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.drop_table("deliveries")
