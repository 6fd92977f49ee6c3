"""The tables. Money columns are BIGINT paise; instants are UTC; periods are [from, to).

Alembic migrations (store/migrations) create these; this module is what the code queries.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wattwallet.store.types import BigId, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

consumers = Table(
    "consumers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(120), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

connections = Table(
    "connections",
    metadata,
    Column("service_no", String(20), primary_key=True),
    Column("consumer_id", BigId, ForeignKey("consumers.id"), nullable=False, index=True),
    Column("category", String(16), nullable=False),
    Column("sanctioned_load_w", Integer, nullable=False),
    Column("billing_mode", String(8), nullable=False),
    Column("mobile", String(16), nullable=False, index=True),
    Column("language", String(2), nullable=False),
    Column("state", String(12), nullable=False),
    Column("first_recharge_done", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("billing_mode IN ('prepaid', 'postpaid')", name="billing_mode"),
    CheckConstraint("state IN ('active', 'disconnected', 'terminated')", name="state"),
    CheckConstraint("language IN ('en', 'te')", name="language"),
    CheckConstraint("sanctioned_load_w > 0", name="load_positive"),
)

meters = Table(
    "meters",
    metadata,
    Column("serial", String(32), primary_key=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, unique=True),
    Column("relay", String(8), nullable=False),
    Column("commissioned_register_wh", BigInteger, nullable=False),
    Column("installed_at", UTCDateTime, nullable=False),
    CheckConstraint("relay IN ('closed', 'open')", name="relay"),
)

# Double-entry ledger. Line amounts are signed paise, debit positive; every posting's lines sum
# to zero, so all accounts together sum to zero. `balance` is kept only on a connection's own
# accounts (wallet, dues): they are the hot reads; DISCOM-side balances are summed on demand so
# that concurrent recharges never queue on one revenue or clearing row.
ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("code", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("normal_side", String(6), nullable=False),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=True, index=True),
    Column("balance", BigInteger, nullable=True),
    # The wallet row also heads the connection's posting chain: its lock serialises the
    # connection's money, and (chain_seq, chain_digest) make any edited or removed posting show.
    Column("chain_seq", Integer, nullable=True),
    Column("chain_digest", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("normal_side IN ('debit', 'credit')", name="normal_side"),
)

ledger_postings = Table(
    "ledger_postings",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("reference", String(80), nullable=True),
    Column("memo", Text, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("prev_digest", String(64), nullable=False),
    Column("digest", String(64), nullable=False),
    UniqueConstraint("service_no", "seq"),
)

ledger_lines = Table(
    "ledger_lines",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("posting_id", BigId, ForeignKey("ledger_postings.id"), nullable=False, index=True),
    Column("account_code", String(64), ForeignKey("ledger_accounts.code"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    CheckConstraint("amount <> 0", name="amount_nonzero"),
    Index("ix_ledger_lines_account_code", "account_code"),
)

recharges = Table(
    "recharges",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("service_no", String(20), ForeignKey("connections.service_no"), nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("to_dues", BigInteger, nullable=False),
    Column("to_wallet", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("dues_after", BigInteger, nullable=False),
    Column("first_recharge", Boolean, nullable=False),
    Column("paid_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("posting_id", BigId, ForeignKey("ledger_postings.id"), nullable=False),
    UniqueConstraint("channel", "reference"),
    CheckConstraint("amount > 0 AND to_dues >= 0 AND to_wallet >= 0", name="amounts"),
    CheckConstraint("to_dues + to_wallet = amount", name="split_adds_up"),
)
