"""status checks (issue 12): each status column accepts only its StrEnum's values

- hes_commands.status: `hes.commands.Status`
- short_bills.status: `domain.short_bill.Status` (the old comment said open | deducted; the code also
  writes settled, at termination)
- held_consumption.status: `lifecycle.holds.Status`
- job_runs.status: `store.job_runs.Status`
- payment_intents.status: `wallet.payments.IntentStatus`

On SQLite a CHECK needs the table rebuilt (Alembic's batch mode); none of these tables carries a
trigger, so nothing is lost in the copy.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

CHECKS = {
    "hes_commands": ("pending", "sent", "confirmed", "failed", "cancelled", "superseded"),
    "short_bills": ("open", "deducted", "settled"),
    "held_consumption": ("open", "released", "dismissed"),
    "job_runs": ("running", "done", "failed"),
    "payment_intents": ("created", "succeeded", "failed"),
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
