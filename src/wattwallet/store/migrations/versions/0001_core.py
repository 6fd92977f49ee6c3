"""core: consumers, connections, meters, ledger, recharges

Revision ID: 0001
Revises:
Create Date: 2026-11-22 12:52:51.763191
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consumers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumers")),
    )
    op.create_table(
        "connections",
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("consumer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("sanctioned_load_w", sa.Integer(), nullable=False),
        sa.Column("billing_mode", sa.String(length=8), nullable=False),
        sa.Column("mobile", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("first_recharge_done", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "billing_mode IN ('prepaid', 'postpaid')", name=op.f("ck_connections_billing_mode")
        ),
        sa.CheckConstraint("language IN ('en', 'te')", name=op.f("ck_connections_language")),
        sa.CheckConstraint(
            "state IN ('active', 'disconnected', 'terminated')", name=op.f("ck_connections_state")
        ),
        sa.CheckConstraint("sanctioned_load_w > 0", name=op.f("ck_connections_load_positive")),
        sa.ForeignKeyConstraint(
            ["consumer_id"], ["consumers.id"], name=op.f("fk_connections_consumer_id_consumers")
        ),
        sa.PrimaryKeyConstraint("service_no", name=op.f("pk_connections")),
    )
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connections_consumer_id"), ["consumer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_connections_mobile"), ["mobile"], unique=False)

    op.create_table(
        "ledger_accounts",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("normal_side", sa.String(length=6), nullable=False),
        sa.Column("service_no", sa.String(length=20), nullable=True),
        sa.Column("balance", sa.BigInteger(), nullable=True),
        sa.Column("chain_seq", sa.Integer(), nullable=True),
        sa.Column("chain_digest", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("normal_side IN ('debit', 'credit')", name=op.f("ck_ledger_accounts_normal_side")),
        sa.ForeignKeyConstraint(
            ["service_no"],
            ["connections.service_no"],
            name=op.f("fk_ledger_accounts_service_no_connections"),
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_ledger_accounts")),
    )
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_accounts_service_no"), ["service_no"], unique=False)

    op.create_table(
        "ledger_postings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=True),
        sa.Column("memo", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_digest", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_no"],
            ["connections.service_no"],
            name=op.f("fk_ledger_postings_service_no_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
        sa.UniqueConstraint("service_no", "seq", name=op.f("uq_ledger_postings_service_no_seq")),
    )
    op.create_table(
        "meters",
        sa.Column("serial", sa.String(length=32), nullable=False),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("relay", sa.String(length=8), nullable=False),
        sa.Column("commissioned_register_wh", sa.BigInteger(), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("relay IN ('closed', 'open')", name=op.f("ck_meters_relay")),
        sa.ForeignKeyConstraint(
            ["service_no"],
            ["connections.service_no"],
            name=op.f("fk_meters_service_no_connections"),
        ),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_meters")),
        sa.UniqueConstraint("service_no", name=op.f("uq_meters_service_no")),
    )
    op.create_table(
        "ledger_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("posting_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("account_code", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_lines_amount_nonzero")),
        # No foreign keys on the ledger's hottest table: see store/schema.py.
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_lines")),
    )
    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ledger_lines_posting_id"), ["posting_id"], unique=False)

    op.create_table(
        "recharges",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("to_dues", sa.BigInteger(), nullable=False),
        sa.Column("to_wallet", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("dues_after", sa.BigInteger(), nullable=False),
        sa.Column("first_recharge", sa.Boolean(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posting_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint(
            "amount > 0 AND to_dues >= 0 AND to_wallet >= 0", name=op.f("ck_recharges_amounts")
        ),
        sa.CheckConstraint("to_dues + to_wallet = amount", name=op.f("ck_recharges_split_adds_up")),
        sa.ForeignKeyConstraint(
            ["posting_id"],
            ["ledger_postings.id"],
            name=op.f("fk_recharges_posting_id_ledger_postings"),
        ),
        sa.ForeignKeyConstraint(
            ["service_no"],
            ["connections.service_no"],
            name=op.f("fk_recharges_service_no_connections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recharges")),
        sa.UniqueConstraint("channel", "reference", name=op.f("uq_recharges_channel_reference")),
    )
    with op.batch_alter_table("recharges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recharges_service_no"), ["service_no"], unique=False)

    _forbid_ledger_changes()


# The ledger is append-only: the database itself refuses to change or remove a posting or a line.
_LEDGER_TABLES = ("ledger_postings", "ledger_lines")


def _forbid_ledger_changes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
            END $$
            """
        )
        for table in _LEDGER_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
        return
    for table in _LEDGER_TABLES:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'ledger is append-only: {action} on {table} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _LEDGER_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")
    else:
        for table in _LEDGER_TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    with op.batch_alter_table("recharges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recharges_service_no"))

    op.drop_table("recharges")
    with op.batch_alter_table("ledger_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_lines_posting_id"))

    op.drop_table("ledger_lines")
    op.drop_table("meters")
    op.drop_table("ledger_postings")
    with op.batch_alter_table("ledger_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_accounts_service_no"))

    op.drop_table("ledger_accounts")
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connections_mobile"))
        batch_op.drop_index(batch_op.f("ix_connections_consumer_id"))

    op.drop_table("connections")
    op.drop_table("consumers")
