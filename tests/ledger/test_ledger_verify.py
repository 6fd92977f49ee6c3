"""`ledger verify` finds every kind of tampering, and the database refuses edits in the first place."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tests.conftest import AddConnection
from wattwallet.context import Context
from wattwallet.ledger import verify
from wattwallet.store import db
from wattwallet.wallet import dues, recharges


@pytest.fixture
def books(ctx: Context, add_connection: AddConnection, now) -> list[str]:
    """Two connections with a few postings each: arrears, recharges, adjustments."""
    a = add_connection(arrears_paise=30_000)
    b = add_connection()
    for sn, ref, amount in [(a, "A1", 50_000), (b, "B1", 60_000), (a, "A2", 20_000), (b, "B2", 10_000)]:
        recharges.recharge_wallet(
            ctx, service_no=sn, channel="portal", reference=ref, amount_paise=amount, now=now
        )
    dues.add(
        ctx, service_no=b, kind="technical_adjustment", amount_paise=777, reason="r", reference="T1", now=now
    )
    return [a, b]


def report(store: db.Store) -> verify.Report:
    with store.read() as conn:
        return verify.verify(conn)


@contextlib.contextmanager
def tampering(store: db.Store) -> Iterator[Connection]:
    """A connection with the append-only triggers switched off, as an attacker with DBA rights has."""
    with store.write() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            for table in ("ledger_postings", "ledger_lines"):
                for action in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER {table}_no_{action}")
            conn.exec_driver_sql("DROP TRIGGER ledger_lines_zero_sum")
            conn.exec_driver_sql("DROP TRIGGER ledger_postings_zero_sum")
        yield conn


def checks(store: db.Store) -> set[str]:
    return {d.check for d in report(store).discrepancies}


def test_an_honest_ledger_verifies(ctx: Context, books: list[str]) -> None:
    result = report(ctx.store)
    assert result.ok, result.discrepancies
    assert result.postings == 6  # 1 arrears + 4 recharges + 1 adjustment
    assert result.lines == 13  # the recharge that also pays arrears has three lines


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_lines SET amount = amount + 1",
        "UPDATE ledger_postings SET memo = 'edited'",
        "DELETE FROM ledger_lines",
        "DELETE FROM ledger_postings",
    ],
)
def test_the_database_refuses_to_change_the_ledger(ctx: Context, books: list[str], statement: str) -> None:
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), ctx.store.write() as conn:
        conn.exec_driver_sql(statement)
    assert report(ctx.store).ok


def test_a_changed_line_amount_is_found(ctx: Context, books: list[str]) -> None:
    with tampering(ctx.store) as conn:
        conn.exec_driver_sql("UPDATE ledger_lines SET amount = amount + 100 WHERE id = 3")
    assert {"posting_balanced", "accounts_sum_to_zero", "posting_unchanged"} <= checks(ctx.store)


def test_a_balanced_rewrite_of_a_posting_is_still_found(ctx: Context, books: list[str]) -> None:
    """Moving money between two lines keeps every sum at zero; only the digest shows it."""
    with tampering(ctx.store) as conn:
        line_ids = [
            row[0]
            for row in conn.exec_driver_sql("SELECT id FROM ledger_lines WHERE posting_id = 2 ORDER BY id")
        ]
        conn.exec_driver_sql(f"UPDATE ledger_lines SET amount = amount + 500 WHERE id = {line_ids[0]}")
        conn.exec_driver_sql(f"UPDATE ledger_lines SET amount = amount - 500 WHERE id = {line_ids[1]}")
    found = report(ctx.store).discrepancies
    assert "posting_unchanged" in {d.check for d in found}
    assert "posting_balanced" not in {d.check for d in found}


def test_an_edited_memo_is_found(ctx: Context, books: list[str]) -> None:
    with tampering(ctx.store) as conn:
        conn.exec_driver_sql("UPDATE ledger_postings SET memo = 'nothing to see' WHERE id = 4")
    first = report(ctx.store).discrepancies[0]
    assert first.check == "posting_unchanged" and "posting 4 " in first.message


def test_a_changed_stored_balance_is_found(ctx: Context, books: list[str]) -> None:
    a = books[0]
    with ctx.store.write() as conn:  # balances are not protected by triggers: verify must catch it
        conn.exec_driver_sql(f"UPDATE ledger_accounts SET balance = balance + 1 WHERE code = 'wallet:{a}'")
    found = report(ctx.store).discrepancies
    assert [d.check for d in found] == ["stored_balance"]
    assert f"wallet:{a}" in found[0].message


def test_a_removed_last_posting_is_found(ctx: Context, books: list[str]) -> None:
    b = books[1]
    with tampering(ctx.store) as conn:
        last = conn.exec_driver_sql(
            f"SELECT max(id) FROM ledger_postings WHERE service_no = '{b}'"
        ).scalar_one()
        conn.exec_driver_sql(f"DELETE FROM ledger_lines WHERE posting_id = {last}")
        conn.exec_driver_sql(f"DELETE FROM ledger_postings WHERE id = {last}")
    assert {"chain_head", "stored_balance"} <= checks(ctx.store)


def test_a_removed_middle_posting_is_found(ctx: Context, books: list[str]) -> None:
    a = books[0]
    with tampering(ctx.store) as conn:
        conn.exec_driver_sql("DELETE FROM recharges")
        middle = conn.exec_driver_sql(
            f"SELECT id FROM ledger_postings WHERE service_no = '{a}' AND seq = 2"
        ).scalar_one()
        conn.exec_driver_sql(f"DELETE FROM ledger_lines WHERE posting_id = {middle}")
        conn.exec_driver_sql(f"DELETE FROM ledger_postings WHERE id = {middle}")
    assert "chain" in checks(ctx.store)


def test_a_recharge_that_disagrees_with_its_posting_is_found(ctx: Context, books: list[str]) -> None:
    with ctx.store.write() as conn:
        conn.exec_driver_sql(
            "UPDATE recharges SET to_dues = to_dues + 100, to_wallet = to_wallet - 100 WHERE id = 1"
        )
    assert checks(ctx.store) == {"recharge_split"}


def test_a_line_naming_an_unknown_account_is_found(ctx: Context, books: list[str]) -> None:
    with tampering(ctx.store) as conn:  # the database refuses lines beyond a posting's own
        posting = conn.exec_driver_sql("SELECT max(id) FROM ledger_postings").scalar_one()
        conn.exec_driver_sql(
            f"INSERT INTO ledger_lines (posting_id, account_code, amount) VALUES ({posting}, 'revenue:nowhere', 5)"
        )
        conn.exec_driver_sql(
            f"INSERT INTO ledger_lines (posting_id, account_code, amount) VALUES ({posting}, 'clearing:portal', -5)"
        )
    found = report(ctx.store).discrepancies
    assert "line_account" in {d.check for d in found}
    assert "posting_unchanged" in {d.check for d in found}  # and the posting's digest no longer matches


def test_a_line_of_no_posting_is_found(ctx: Context, books: list[str]) -> None:
    with tampering(ctx.store) as conn:  # the database refuses lines that do not sum to zero
        conn.exec_driver_sql(
            "INSERT INTO ledger_lines (posting_id, account_code, amount) VALUES (99999, 'clearing:portal', 7)"
        )
    found = {d.message for d in report(ctx.store).discrepancies}
    assert "1 ledger line(s) belong to no posting" in found


# --- zero-sum kept by the database (issue 12): no Python check needed, `python -O` changes nothing ---


def _post_by_hand(conn: Connection, service_no: str, amounts: tuple[int, ...], *, line_count: int) -> int:
    """Lines, then the posting row that closes them, as post_many writes them, in raw SQL."""
    posting = int(conn.exec_driver_sql("SELECT max(id) FROM ledger_postings").scalar_one()) + 1000
    seq = conn.exec_driver_sql(
        f"SELECT max(seq) FROM ledger_postings WHERE service_no = '{service_no}'"
    ).scalar_one()
    values = ", ".join(f"({posting}, 'clearing:portal', {a})" for a in amounts)
    conn.exec_driver_sql(f"INSERT INTO ledger_lines (posting_id, account_code, amount) VALUES {values}")
    conn.exec_driver_sql(
        "INSERT INTO ledger_postings (id, service_no, seq, kind, reference, memo, occurred_at, recorded_at, "
        f"prev_digest, digest, line_count) VALUES ({posting}, '{service_no}', {seq + 1}, 'adjustment', 'Z-1', "
        f"'by hand', '2025-06-01 00:00:00', '2025-06-01 00:00:00', 'x', 'y', {line_count})"
    )
    return posting


@pytest.mark.parametrize(
    "amounts",
    [(500, -499), (500, -500, 7), (500,)],
    ids=["not summing to zero", "a line too many", "a line short"],
)
def test_the_database_refuses_an_unbalanced_posting(
    ctx: Context, books: list[str], amounts: tuple[int, ...]
) -> None:
    before = report(ctx.store)
    with pytest.raises(sa.exc.DBAPIError, match="refused"), ctx.store.write() as conn:
        _post_by_hand(conn, books[0], amounts, line_count=2)
    after = report(ctx.store)
    assert after.ok and (after.postings, after.lines) == (before.postings, before.lines)


def test_the_database_refuses_a_line_for_a_posting_already_written(ctx: Context, books: list[str]) -> None:
    with ctx.store.write() as conn:
        posting = _post_by_hand(conn, books[0], (500, -500), line_count=2)
    with pytest.raises(sa.exc.DBAPIError, match="refused"), ctx.store.write() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO ledger_lines (posting_id, account_code, amount) VALUES ({posting}, 'clearing:portal', 5)"
        )


def test_the_database_takes_a_balanced_posting(ctx: Context, books: list[str]) -> None:
    with ctx.store.write() as conn:
        posting = _post_by_hand(conn, books[0], (500, -500), line_count=2)
        assert (
            conn.exec_driver_sql(f"SELECT count(*) FROM ledger_lines WHERE posting_id = {posting}").scalar()
            == 2
        )
