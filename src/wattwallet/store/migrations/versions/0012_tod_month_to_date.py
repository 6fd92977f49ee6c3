"""prepaid_state: the month's peak and off-peak Wh so far, for Time-of-Day charges

The daily cycle rates a Time-of-Day surcharge and rebate cumulatively on the month's peak and
off-peak energy (as it does energy and levies on `mtd_wh`), so a month's days add up exactly to
its bill. Both start at 0: connections without ToD never move them.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("prepaid_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mtd_peak_wh", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("mtd_off_peak_wh", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("prepaid_state", schema=None) as batch_op:
        batch_op.drop_column("mtd_off_peak_wh")
        batch_op.drop_column("mtd_peak_wh")
