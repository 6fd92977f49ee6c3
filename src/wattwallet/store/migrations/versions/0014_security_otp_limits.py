"""security (issue 17, OTP and sign-in abuse): queued OTP requests, failed sign-in attempts, security alerts

`otp_requests`: every `POST /auth/otp` (and mobile-change OTP) is queued here and answered at once;
the dispatcher issues and sends the OTP afterwards. `auth_failures`: wrong OTPs and wrong staff
passwords by subject and caller, for the daily guess caps and the (username, caller) lock-out.
`security_alerts`: what staff are told (a connection's OTP guesses used up for the day).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "otp_requests",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("service_no", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=16), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=True),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("otp_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_otp_requests")),
    )
    op.create_index("ix_otp_requests_caller_requested_at", "otp_requests", ["caller", "requested_at"])
    op.create_index("ix_otp_requests_recipient_handled_at", "otp_requests", ["recipient", "handled_at"])
    op.create_index("ix_otp_requests_status_id", "otp_requests", ["status", "id"])
    op.create_table(
        "auth_failures",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_failures")),
    )
    op.create_index("ix_auth_failures_kind_subject_at", "auth_failures", ["kind", "subject", "at"])
    op.create_index("ix_auth_failures_kind_caller_at", "auth_failures", ["kind", "caller", "at"])
    op.create_table(
        "security_alerts",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("service_no", sa.String(length=32), nullable=True),
        sa.Column("caller", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_alerts")),
    )
    op.create_index("ix_security_alerts_raised_at", "security_alerts", ["raised_at"])


def downgrade() -> None:
    op.drop_table("security_alerts")
    op.drop_table("auth_failures")
    op.drop_table("otp_requests")
