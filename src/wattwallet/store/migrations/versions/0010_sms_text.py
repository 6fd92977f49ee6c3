"""notifications.sms_text: the DLT-registered SMS beside the app/WhatsApp text

Since TRAI's direction of 18 Nov 2025 an SMS template takes at most two variables, so a message's
SMS is shorter than what the app and WhatsApp show. Rows written before this keep NULL here and
are sent by SMS with their one text, as they were.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sms_text", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("sms_text")
