"""lifecycle: readings, rating state, deductions, alerts, notifications, HES commands,
complaints, short bills, calendar, termination

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 13:07:36.659818
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    op.create_table(
        "alerts",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_no"], ["connections.service_no"], name=op.f("fk_alerts_service_no_connections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_service_no"), ["service_no"], unique=False)

    op.create_table(
        "complaints",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_no"], ["connections.service_no"], name=op.f("fk_complaints_service_no_connections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("ref", name=op.f("uq_complaints_ref")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_service_no"), ["service_no"], unique=False)

    op.create_table(
        "connection_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=12), nullable=False),
        sa.Column("to_state", sa.String(length=12), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("command_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_no"],
            ["connections.service_no"],
            name=op.f("fk_connection_events_service_no_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_events")),
    )
    with op.batch_alter_table("connection_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connection_events_service_no"), ["service_no"], unique=False)

    op.create_table(
        "held_consumption",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("meter_serial", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=False),
        sa.Column("from_register_wh", sa.BigInteger(), nullable=False),
        sa.Column("to_register_wh", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_no"],
            ["connections.service_no"],
            name=op.f("fk_held_consumption_service_no_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_consumption")),
    )
    with op.batch_alter_table("held_consumption", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_held_consumption_service_no"), ["service_no"], unique=False)

    op.create_table(
        "hes_commands",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("meter_serial", sa.String(length=32), nullable=False),
        sa.Column("command", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_no"], ["connections.service_no"], name=op.f("fk_hes_commands_service_no_connections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hes_commands")),
    )
    with op.batch_alter_table("hes_commands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hes_commands_service_no"), ["service_no"], unique=False)
        batch_op.create_index(
            "ix_hes_commands_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "notifications",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("channels", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_no"], ["connections.service_no"], name=op.f("fk_notifications_service_no_connections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_service_no"), ["service_no"], unique=False)

    op.create_table(
        "prepaid_state",
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("billed_through", sa.Date(), nullable=False),
        sa.Column("billed_register_wh", sa.BigInteger(), nullable=False),
        sa.Column("last_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_read_date", sa.Date(), nullable=False),
        sa.Column("last_register_wh", sa.BigInteger(), nullable=False),
        sa.Column("month_start", sa.Date(), nullable=False),
        sa.Column("month_first_day", sa.Date(), nullable=False),
        sa.Column("mtd_wh", sa.BigInteger(), nullable=False),
        sa.Column("recent_daily_paise", sa.Text(), nullable=False),
        sa.Column("adc_paise", sa.BigInteger(), nullable=False),
        sa.Column("alerts_sent", sa.Integer(), nullable=False),
        sa.Column("zero_alert_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emergency_credit_paise", sa.BigInteger(), nullable=False),
        sa.Column("disconnect_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_no"], ["connections.service_no"], name=op.f("fk_prepaid_state_service_no_connections")
        ),
        sa.PrimaryKeyConstraint("service_no", name=op.f("pk_prepaid_state")),
    )
    op.create_table(
        "terminations",
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("final_balance", sa.BigInteger(), nullable=False),
        sa.Column("arrears", sa.BigInteger(), nullable=False),
        sa.Column("refund", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_no"], ["connections.service_no"], name=op.f("fk_terminations_service_no_connections")
        ),
        sa.PrimaryKeyConstraint("service_no", name=op.f("pk_terminations")),
    )
    op.create_table(
        "work_orders",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_no"], ["connections.service_no"], name=op.f("fk_work_orders_service_no_connections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
    )
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_orders_service_no"), ["service_no"], unique=False)

    op.create_table(
        "daily_deductions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("wh", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("posting_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["ledger_postings.id"],
            name=op.f("fk_daily_deductions_posting_id_ledger_postings"),
        ),
        sa.ForeignKeyConstraint(
            ["service_no"],
            ["connections.service_no"],
            name=op.f("fk_daily_deductions_service_no_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_deductions")),
        sa.UniqueConstraint("service_no", "day", name=op.f("uq_daily_deductions_service_no_day")),
    )
    op.create_table(
        "meter_readings",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("meter_serial", sa.String(length=32), nullable=False),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_date", sa.Date(), nullable=False),
        sa.Column("register_wh", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("register_wh >= 0", name=op.f("ck_meter_readings_register_non_negative")),
        sa.ForeignKeyConstraint(
            ["meter_serial"], ["meters.serial"], name=op.f("fk_meter_readings_meter_serial_meters")
        ),
        sa.ForeignKeyConstraint(
            ["service_no"], ["connections.service_no"], name=op.f("fk_meter_readings_service_no_connections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_readings")),
        sa.UniqueConstraint("meter_serial", "read_at", name=op.f("uq_meter_readings_meter_serial_read_at")),
    )
    with op.batch_alter_table("meter_readings", schema=None) as batch_op:
        batch_op.create_index("ix_meter_readings_service_no_read_at", ["service_no", "read_at"], unique=False)

    op.create_table(
        "short_bills",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("deducted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posting_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_short_bills_amount_positive")),
        sa.ForeignKeyConstraint(
            ["posting_id"], ["ledger_postings.id"], name=op.f("fk_short_bills_posting_id_ledger_postings")
        ),
        sa.ForeignKeyConstraint(
            ["service_no"], ["connections.service_no"], name=op.f("fk_short_bills_service_no_connections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_short_bills")),
        sa.UniqueConstraint("ref", name=op.f("uq_short_bills_ref")),
    )
    with op.batch_alter_table("short_bills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_short_bills_service_no"), ["service_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("short_bills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_short_bills_service_no"))

    op.drop_table("short_bills")
    with op.batch_alter_table("meter_readings", schema=None) as batch_op:
        batch_op.drop_index("ix_meter_readings_service_no_read_at")

    op.drop_table("meter_readings")
    op.drop_table("daily_deductions")
    with op.batch_alter_table("work_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_orders_service_no"))

    op.drop_table("work_orders")
    op.drop_table("terminations")
    op.drop_table("prepaid_state")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_service_no"))

    op.drop_table("notifications")
    with op.batch_alter_table("hes_commands", schema=None) as batch_op:
        batch_op.drop_index("ix_hes_commands_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_hes_commands_service_no"))

    op.drop_table("hes_commands")
    with op.batch_alter_table("held_consumption", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_held_consumption_service_no"))

    op.drop_table("held_consumption")
    with op.batch_alter_table("connection_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connection_events_service_no"))

    op.drop_table("connection_events")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_service_no"))

    op.drop_table("complaints")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_service_no"))

    op.drop_table("alerts")
    op.drop_table("calendar_days")
