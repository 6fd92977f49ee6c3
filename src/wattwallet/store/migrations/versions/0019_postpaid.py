"""postpaid (issue 15): billing-mode switches, postpaid charges, bills, open items and payments

- `mode_switches`: a consumer's or staff's request to switch prepaid <-> postpaid from an IST day,
  pending until that day (withdrawable), then done with its settlement figures.
- `postpaid_charges`: each day a postpaid connection consumed, rated by the same engine as a
  prepaid day (`items` itemised), not posted until a bill (or a switch back to prepaid) takes it;
  `prepaid_state.postpaid_taken_id` is the last row taken (rows of a connection rise with the day).
- `postpaid_unbilled`: the running totals of those days per connection, so a bill reads one row.
- `postpaid_items`: what a postpaid consumer owes, item by item (each bill's new amount, a debit
  carried from the wallet, dues and short bills moved over): payments settle the oldest first, and
  the items' unpaid amounts always sum to the connection's receivable account.
- `postpaid_payments`: payments of postpaid bills, idempotent by (channel, reference).
- `bills.mode` and `bills.due_on`: a postpaid bill is the same e-bill document (append-only, its own
  number series); a month may have both a prepaid statement and a postpaid bill (a switch in it).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AT = sa.DateTime(timezone=True)


def _service_no(table: str) -> sa.Column[str]:
    return sa.Column(
        "service_no",
        sa.String(length=20),
        sa.ForeignKey("connections.service_no", name=op.f(f"fk_{table}_service_no_connections")),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "mode_switches",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        _service_no("mode_switches"),
        sa.Column("from_mode", sa.String(length=8), nullable=False),
        sa.Column("to_mode", sa.String(length=8), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requested_via", sa.String(length=10), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("requested_at", _AT, nullable=False),
        sa.Column("closed_at", _AT, nullable=True),
        sa.Column("carried", sa.BigInteger(), nullable=True),
        sa.Column("to_dues", sa.BigInteger(), nullable=True),
        sa.Column("deposit_adjusted", sa.BigInteger(), nullable=True),
        sa.Column("to_receivable", sa.BigInteger(), nullable=True),
        sa.Column("unbilled", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'done', 'withdrawn')", name=op.f("ck_mode_switches_status")
        ),
        sa.CheckConstraint(
            "from_mode IN ('prepaid', 'postpaid') AND to_mode IN ('prepaid', 'postpaid') "
            "AND from_mode <> to_mode",
            name=op.f("ck_mode_switches_modes"),
        ),
        sa.CheckConstraint(
            "requested_via IN ('consumer', 'staff', 'scenario')", name=op.f("ck_mode_switches_requested_via")
        ),
    )
    op.create_index("ix_mode_switches_service_no", "mode_switches", ["service_no"])
    op.create_index("ix_mode_switches_status_effective_on", "mode_switches", ["status", "effective_on"])
    op.create_table(
        "postpaid_charges",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        _service_no("postpaid_charges"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("wh", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.UniqueConstraint("service_no", "day", name=op.f("uq_postpaid_charges_service_no_day")),
    )
    op.create_table(
        "postpaid_items",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        _service_no("postpaid_items"),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("bill_id", sa.BigInteger(), nullable=True),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.CheckConstraint(
            "amount > 0 AND paid >= 0 AND paid <= amount", name=op.f("ck_postpaid_items_paid")
        ),
        sa.CheckConstraint(
            "kind IN ('bill', 'carried', 'dues', 'short_bill', 'arrears', 'released')",
            name=op.f("ck_postpaid_items_kind"),
        ),
    )
    op.create_index("ix_postpaid_items_service_no", "postpaid_items", ["service_no"])
    op.create_table(
        "postpaid_payments",
        sa.Column("id", _BIG_ID, primary_key=True, autoincrement=True),
        _service_no("postpaid_payments"),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("applied", sa.BigInteger(), nullable=False),
        sa.Column("to_advance", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_after", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", _AT, nullable=False),
        sa.Column("created_at", _AT, nullable=False),
        sa.Column("posting_id", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("channel", "reference", name=op.f("uq_postpaid_payments_channel_reference")),
        sa.CheckConstraint(
            "amount > 0 AND applied >= 0 AND to_advance >= 0 AND applied + to_advance = amount",
            name=op.f("ck_postpaid_payments_split"),
        ),
    )
    op.create_index("ix_postpaid_payments_service_no", "postpaid_payments", ["service_no"])
    op.create_table(
        "postpaid_unbilled",
        sa.Column(
            "service_no",
            sa.String(length=20),
            sa.ForeignKey("connections.service_no", name=op.f("fk_postpaid_unbilled_service_no_connections")),
            primary_key=True,
        ),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("wh", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("components", sa.Text(), nullable=False),
        sa.Column("upto_id", sa.BigInteger(), nullable=False),
        sa.Column("overflow", sa.Boolean(), nullable=False),
    )
    op.add_column(
        "prepaid_state", sa.Column("postpaid_taken_id", sa.BigInteger(), nullable=False, server_default="0")
    )
    _bills_by_mode()


def _bills_by_mode() -> None:
    """bills gains mode and due_on, and its unique key takes the mode in (a rebuild on SQLite, whose
    append-only triggers are made again after it)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS bills_no_{action}")
    with op.batch_alter_table("bills") as batch:
        batch.add_column(sa.Column("mode", sa.String(length=8), nullable=False, server_default="prepaid"))
        batch.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch.drop_constraint("uq_bills_service_no_month_revision", type_="unique")
        batch.create_unique_constraint(
            "uq_bills_service_no_month_mode_revision", ["service_no", "month", "mode", "revision"]
        )
        batch.create_check_constraint("mode", "mode IN ('prepaid', 'postpaid')")
    if sqlite:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER bills_no_{action.lower()} BEFORE {action} ON bills "
                f"BEGIN SELECT RAISE(ABORT, 'bills are append-only: {action} on bills refused'); END"
            )


def downgrade() -> None:
    raise NotImplementedError("0019 is not reversible: postpaid bills and payments would be lost")
