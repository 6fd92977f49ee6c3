"""more status checks (issue 12): otp_requests and hes_acks accept only their enums' values

- otp_requests.status: `consumers.otp.RequestStatus`
- hes_acks.status: what the HES may say (`hes.mqtt.protocol.ACK_STATUSES`)

(Work orders and notifications have one status each today, written in one place; a check there
would only freeze what has not been designed yet.)

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

CHECKS = {
    "otp_requests": ("pending", "sent", "failed", "unknown", "held_back", "stale"),
    "hes_acks": ("accepted", "executed", "failed"),
}


def upgrade() -> None:
    for table, values in CHECKS.items():
        allowed = ", ".join(f"'{v}'" for v in values)
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint("status", f"status IN ({allowed})")


def downgrade() -> None:
    for table in CHECKS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"ck_{table}_status", type_="check")
