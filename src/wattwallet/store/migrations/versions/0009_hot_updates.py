"""fillfactor on the rows the daily cycle updates: prepaid_state and ledger_accounts (PostgreSQL)

Every night the cycle rewrites each connection's state row and wallet row. With free room on the
page PostgreSQL writes the new version beside the old one (a HOT update) and touches no index;
on a full page it moves the row and adds an entry to every index. The room is for one new version
of each row updated: all of prepaid_state's, half of ledger_accounts' (the wallets, not the dues).
Pages written before this migration fill up as before until VACUUM FULL (or CLUSTER) rewrites them.
SQLite has no fillfactor; nothing changes there.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

FILLFACTOR = {"prepaid_state": 50, "ledger_accounts": 60}  # mirrored in store/schema.py


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, percent in FILLFACTOR.items():
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {percent})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in FILLFACTOR:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
