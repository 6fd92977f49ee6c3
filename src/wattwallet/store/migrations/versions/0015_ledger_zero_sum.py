"""ledger zero-sum in the database (issue 12): a posting's lines must sum to zero, or nothing is written

`ledger.postings.post_many` checks every posting before it writes; this makes the database refuse an
unbalanced one too, whatever the Python (`python -O` strips asserts) or a hand-written statement.

A posting's lines are written first, then the posting row, which records how many lines it has
(`line_count`) and so closes them:
- when a posting row is written, its lines must number `line_count` and sum to zero;
- a line for a posting that is already written is refused (a closed posting takes no more lines).

PostgreSQL checks once per statement (AFTER ... FOR EACH STATEMENT with transition tables: one
INSERT or COPY writes a whole batch), SQLite once per posting row and with one key lookup per line
(it has no statement-level triggers). Postings written before this revision have no `line_count`
(the append-only triggers forbid filling it in); `ledger verify` checks their sums as before.

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

_POSTGRES = [
    """
    CREATE FUNCTION ledger_posting_closes_its_lines() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        bad RECORD;
    BEGIN
        SELECT p.id, p.line_count, count(l.id) AS lines, coalesce(sum(l.amount), 0) AS total
          INTO bad
          FROM new_postings p LEFT JOIN ledger_lines l ON l.posting_id = p.id
         WHERE p.line_count IS NOT NULL
         GROUP BY p.id, p.line_count
        HAVING count(l.id) <> p.line_count OR coalesce(sum(l.amount), 0) <> 0
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'ledger posting % refused: % lines summing to %, expected % summing to 0',
                bad.id, bad.lines, bad.total, bad.line_count USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER ledger_postings_zero_sum AFTER INSERT ON ledger_postings "
    "REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT "
    "EXECUTE FUNCTION ledger_posting_closes_its_lines()",
    """
    CREATE FUNCTION ledger_lines_before_their_posting() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM new_lines n JOIN ledger_postings p ON p.id = n.posting_id) THEN
            RAISE EXCEPTION 'ledger line refused: its posting is closed' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER ledger_lines_zero_sum AFTER INSERT ON ledger_lines "
    "REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT "
    "EXECUTE FUNCTION ledger_lines_before_their_posting()",
]

_SQLITE = [
    """
    CREATE TRIGGER ledger_postings_zero_sum AFTER INSERT ON ledger_postings
    WHEN NEW.line_count IS NOT NULL
    BEGIN
        SELECT RAISE(ABORT, 'ledger posting refused: its lines do not sum to zero')
        WHERE (SELECT count(*) FROM ledger_lines WHERE posting_id = NEW.id) <> NEW.line_count
           OR (SELECT coalesce(sum(amount), 0) FROM ledger_lines WHERE posting_id = NEW.id) <> 0;
    END
    """,
    """
    CREATE TRIGGER ledger_lines_zero_sum AFTER INSERT ON ledger_lines
    WHEN EXISTS (SELECT 1 FROM ledger_postings WHERE id = NEW.posting_id)
    BEGIN
        SELECT RAISE(ABORT, 'ledger line refused: its posting is closed');
    END
    """,
]


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild): the append-only triggers stay as they are.
    op.add_column("ledger_postings", sa.Column("line_count", sa.SmallInteger(), nullable=True))
    for statement in _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_lines_zero_sum ON ledger_lines")
        op.execute("DROP TRIGGER ledger_postings_zero_sum ON ledger_postings")
        op.execute("DROP FUNCTION ledger_lines_before_their_posting()")
        op.execute("DROP FUNCTION ledger_posting_closes_its_lines()")
    else:
        op.execute("DROP TRIGGER ledger_lines_zero_sum")
        op.execute("DROP TRIGGER ledger_postings_zero_sum")
    op.drop_column("ledger_postings", "line_count")
