"""bills (issue 13, monthly e-bills): the statement of each prepaid connection's month, append-only

`bills`: one row per bill revision, never changed or removed (the database refuses UPDATE and
DELETE, as for the ledger); a correction is a new row with the next revision that names the one it
replaces. `content` is the statement as canonical JSON, `content_hash` its SHA-256, and
`verification_code` the short code printed on the PDF. `bill_link_keys`: the key the SMS links are
signed with when no key is configured (WATTWALLET_BILLS__LINK_SECRET).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bills",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("bill_no", sa.String(length=32), nullable=False),
        sa.Column("service_no", sa.String(length=20), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("replaces_id", sa.BigInteger(), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("units_wh", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("opening_balance", sa.BigInteger(), nullable=False),
        sa.Column("closing_balance", sa.BigInteger(), nullable=False),
        sa.Column("recharged", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("verification_code", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_no"], ["connections.service_no"], name=op.f("fk_bills_service_no_connections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bills")),
        sa.UniqueConstraint("bill_no", name=op.f("uq_bills_bill_no")),
        sa.UniqueConstraint(
            "service_no", "month", "revision", name=op.f("uq_bills_service_no_month_revision")
        ),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_bills_revision_positive")),
        sa.CheckConstraint("language IN ('en', 'te')", name=op.f("ck_bills_language")),
    )
    op.create_index("ix_bills_month_service_no", "bills", ["month", "service_no"])
    op.create_index("ix_bills_verification_code", "bills", ["verification_code"])
    op.create_table(
        "bill_link_keys",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_link_keys")),
    )
    _forbid_bill_changes()


def _forbid_bill_changes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION bills_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'bills are append-only: % on % refused', TG_OP, TG_TABLE_NAME;
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER bills_append_only BEFORE UPDATE OR DELETE ON bills "
            "FOR EACH ROW EXECUTE FUNCTION bills_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER bills_no_{action.lower()} BEFORE {action} ON bills "
            f"BEGIN SELECT RAISE(ABORT, 'bills are append-only: {action} on bills refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS bills_append_only ON bills")
        op.execute("DROP FUNCTION IF EXISTS bills_append_only()")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS bills_no_{action}")
    op.drop_table("bill_link_keys")
    op.drop_index("ix_bills_verification_code", table_name="bills")
    op.drop_index("ix_bills_month_service_no", table_name="bills")
    op.drop_table("bills")
