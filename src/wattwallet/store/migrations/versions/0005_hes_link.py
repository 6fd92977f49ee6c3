"""the MQTT head-end link: load profiles, rejects, acks, relay reports and mismatches

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "meter_load_profiles",
        sa.Column("msg_id", sa.String(length=64), nullable=False),
        sa.Column("meter_serial", sa.String(length=32), nullable=False),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_date", sa.Date(), nullable=False),
        sa.Column("profile_wh", sa.Text(), nullable=True),
        sa.Column("total_wh", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("msg_id", name=op.f("pk_meter_load_profiles")),
        sa.UniqueConstraint(
            "meter_serial", "ends_at", name=op.f("uq_meter_load_profiles_meter_serial_ends_at")
        ),
    )
    op.create_table(
        "hes_rejects",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("msg_id", sa.String(length=64), nullable=True),
        sa.Column("meter_serial", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hes_rejects")),
    )
    with op.batch_alter_table("hes_rejects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hes_rejects_msg_id"), ["msg_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_hes_rejects_received_at"), ["received_at"], unique=False)

    op.create_table(
        "hes_acks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("command_id", sa.String(length=40), nullable=False),
        sa.Column("meter_serial", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("relay", sa.String(length=8), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hes_acks")),
        sa.UniqueConstraint("command_id", "status", "at", name=op.f("uq_hes_acks_command_id_status_at")),
    )
    op.create_table(
        "meter_relay_reports",
        sa.Column("meter_serial", sa.String(length=32), nullable=False),
        sa.Column("relay", sa.String(length=8), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("meter_serial", name=op.f("pk_meter_relay_reports")),
    )
    op.create_table(
        "relay_mismatches",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("meter_serial", sa.String(length=32), nullable=False),
        sa.Column("reported_relay", sa.String(length=8), nullable=False),
        sa.Column("expected_relay", sa.String(length=8), nullable=False),
        sa.Column("connection_state", sa.String(length=12), nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("command_id", sa.String(length=40), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_no"],
            ["connections.service_no"],
            name=op.f("fk_relay_mismatches_service_no_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_mismatches")),
    )
    with op.batch_alter_table("relay_mismatches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_relay_mismatches_service_no"), ["service_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("relay_mismatches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relay_mismatches_service_no"))
    op.drop_table("relay_mismatches")
    op.drop_table("meter_relay_reports")
    op.drop_table("hes_acks")
    with op.batch_alter_table("hes_rejects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hes_rejects_received_at"))
        batch_op.drop_index(batch_op.f("ix_hes_rejects_msg_id"))
    op.drop_table("hes_rejects")
    op.drop_table("meter_load_profiles")
