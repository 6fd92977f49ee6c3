"""ledger zero-sum in the database (issue 12): a posting's lines must sum to zero, or nothing is written

`ledger.postings.post_many` checks every posting before it writes; this makes the database refuse an
unbalanced one too, whatever the Python (`python -O` strips asserts) or a hand-written SQL statement.

- PostgreSQL: a statement-level AFTER INSERT trigger on `ledger_lines` with a transition table: the
  new lines grouped by posting must each sum to zero and number the posting's `line_count`. All of a
  posting's lines are written in one statement (one INSERT or COPY per batch), so one check per
  statement, not per line.
- SQLite has no statement-level triggers: each posting now records its `line_count`, and a row trigger
  checks the posting's sum when its last line arrives (and refuses any line beyond the count).

Postings written before this revision have no `line_count` (the append-only triggers forbid filling
it in); `ledger verify` already checks their sums.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild): the append-only triggers stay as they are.
    op.add_column("ledger_postings", sa.Column("line_count", sa.SmallInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION ledger_zero_sum() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                bad RECORD;
            BEGIN
                SELECT n.posting_id, sum(n.amount) AS total, count(*) AS lines, max(p.line_count) AS expected
                  INTO bad
                  FROM new_lines n LEFT JOIN ledger_postings p ON p.id = n.posting_id
                 GROUP BY n.posting_id
                HAVING sum(n.amount) <> 0 OR (max(p.line_count) IS NOT NULL AND count(*) <> max(p.line_count))
                 LIMIT 1;
                IF FOUND THEN
                    RAISE EXCEPTION 'ledger posting % refused: % lines summing to %, expected % summing to 0',
                        bad.posting_id, bad.lines, bad.total, bad.expected
                        USING ERRCODE = 'check_violation';
                END IF;
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER ledger_lines_zero_sum AFTER INSERT ON ledger_lines "
            "REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION ledger_zero_sum()"
        )
        return
    op.execute(
        """
        CREATE TRIGGER ledger_lines_zero_sum AFTER INSERT ON ledger_lines
        WHEN (SELECT count(*) FROM ledger_lines WHERE posting_id = NEW.posting_id)
             >= (SELECT line_count FROM ledger_postings WHERE id = NEW.posting_id)
        BEGIN
            SELECT RAISE(ABORT, 'ledger posting refused: its lines do not sum to zero')
            WHERE (SELECT sum(amount) FROM ledger_lines WHERE posting_id = NEW.posting_id) <> 0
               OR (SELECT count(*) FROM ledger_lines WHERE posting_id = NEW.posting_id)
                  > (SELECT line_count FROM ledger_postings WHERE id = NEW.posting_id);
        END
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_lines_zero_sum ON ledger_lines")
        op.execute("DROP FUNCTION ledger_zero_sum()")
    else:
        op.execute("DROP TRIGGER ledger_lines_zero_sum")
    op.drop_column("ledger_postings", "line_count")
