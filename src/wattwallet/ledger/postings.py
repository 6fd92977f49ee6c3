"""Writing postings: lock a connection's book, post balanced lines, keep the chain.

Every posting belongs to one connection and extends that connection's hash chain: its digest
covers its content and the previous digest, so `ledger verify` finds any posting that was
changed, removed or slipped in. The wallet row's lock serialises one connection's money while
different connections proceed in parallel.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.domain import money
from wattwallet.ledger import accounts
from wattwallet.store import bulk, connections, schema

MAX_LINES = 64


class UnknownWallet(connections.UnknownConnection):
    """No wallet for the service number: to the caller, as to the rules, an unknown connection (the
    one code, `unknown_connection`, is defined once, on `store.connections.UnknownConnection`)."""


class Line(NamedTuple):
    account: str
    amount: int  # signed paise, debit positive


@dataclasses.dataclass
class Book:
    """The locked money of one connection, as it stands inside the current transaction."""

    service_no: str
    wallet: int
    dues: int
    chain_seq: int
    chain_digest: str
    # The postpaid accounts (receivable, advance, deposit) by code, when locked with postpaid=True.
    postpaid: dict[str, int] = dataclasses.field(default_factory=dict)

    def balance(self, code: str) -> int:
        """A postpaid account's balance (0 for one not opened yet)."""
        return self.postpaid.get(code, 0)


_WALLET_KINDS = ("wallet", "dues")
_ALL_KINDS = (*_WALLET_KINDS, *(kind.value for kind in accounts.POSTPAID_KINDS))


def lock_range(
    conn: Connection, *, first: str, last: str, lock: bool = True, postpaid: bool = False
) -> dict[str, Book]:
    """Lock the money of every connection with a service number in [first, last], in code order
    (as `lock` and `lock_many` do, so lockers never deadlock); with lock=False, only read it. A
    batch job walks service numbers in order, so one range scan replaces a long IN list. With
    `postpaid`, the postpaid accounts too (the prepaid nightly cycle never touches them)."""
    a = schema.ledger_accounts
    kinds = _ALL_KINDS if postpaid else _WALLET_KINDS
    query = (
        sa.select(a.c.code, a.c.service_no, a.c.balance, a.c.chain_seq, a.c.chain_digest)
        .where(a.c.service_no >= first, a.c.service_no <= last, a.c.kind.in_(kinds))
        .order_by(a.c.code)
    )
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    return _books(conn.execute(query).all())


def _books(rows: Sequence[Any]) -> dict[str, Book]:
    """Rows of (code, service_no, balance, chain_seq, chain_digest): unpacked, not read by name (a
    Row's attribute costs ten times its index, and a batch reads thousands)."""
    books, dues, others = {}, {}, []
    for code, service_no, balance, chain_seq, chain_digest in rows:
        if code.startswith("wallet:"):
            books[service_no] = Book(service_no, balance, 0, chain_seq, chain_digest)
        elif code.startswith("dues:"):
            dues[service_no] = balance
        else:
            others.append((service_no, code, balance))
    for service_no, book in books.items():
        book.dues = dues[service_no]
    for service_no, code, balance in others:
        books[service_no].postpaid[code] = balance
    return books


def lock_many(conn: Connection, service_nos: Sequence[str], *, postpaid: bool = False) -> dict[str, Book]:
    """Lock many connections' money at once, in code order so that lockers never deadlock."""
    codes = sorted(
        code
        for sn in service_nos
        for code in (accounts.own_codes(sn) if postpaid else (accounts.wallet(sn), accounts.dues(sn)))
    )
    a = schema.ledger_accounts
    query = (
        sa.select(a.c.code, a.c.service_no, a.c.balance, a.c.chain_seq, a.c.chain_digest)
        .where(a.c.code.in_(codes))
        .order_by(a.c.code)
    )
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    return _books(conn.execute(query).all())


def lock(conn: Connection, *, service_no: str, postpaid: bool = False) -> Book:
    """Take the connection's money lock (its wallet row) and read its balances (with `postpaid`,
    those of its postpaid accounts too)."""
    wallet_code, dues_code = accounts.wallet(service_no), accounts.dues(service_no)
    codes = list(accounts.own_codes(service_no)) if postpaid else [wallet_code, dues_code]
    query = sa.select(
        schema.ledger_accounts.c.code,
        schema.ledger_accounts.c.balance,
        schema.ledger_accounts.c.chain_seq,
        schema.ledger_accounts.c.chain_digest,
    ).where(schema.ledger_accounts.c.code.in_(codes))
    # Same order as lock_many (dues before wallet), so a recharge and a batch never deadlock.
    query = query.order_by(schema.ledger_accounts.c.code)
    if conn.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE already holds the write lock
        query = query.with_for_update()
    rows = {row.code: row for row in conn.execute(query)}
    if wallet_code not in rows or dues_code not in rows:
        raise UnknownWallet(f"no connection with service number {service_no}", service_no=service_no)
    wallet_row = rows[wallet_code]
    return Book(
        service_no=service_no,
        wallet=wallet_row.balance,
        dues=rows[dues_code].balance,
        chain_seq=wallet_row.chain_seq,
        chain_digest=wallet_row.chain_digest,
        postpaid={code: row.balance for code, row in rows.items() if code not in (wallet_code, dues_code)},
    )


@dataclasses.dataclass(frozen=True)
class Entry:
    """One posting to be written: its book's connection, what it is and its balanced lines."""

    service_no: str
    kind: str
    lines: Sequence[tuple[str, int]]  # Line, or a plain (account, amount) pair on hot paths
    occurred_at: dt.datetime
    reference: str | None = None
    memo: str = ""


def post(
    conn: Connection,
    book: Book,
    *,
    kind: str,
    lines: Sequence[Line],
    occurred_at: dt.datetime,
    recorded_at: dt.datetime,
    reference: str | None = None,
    memo: str = "",
) -> int:
    """Append one balanced posting to `book`'s connection; returns the posting id."""
    entry = Entry(book.service_no, kind, lines, occurred_at, reference, memo)
    return post_many(conn, {book.service_no: book}, [entry], recorded_at=recorded_at)[0]


def post_many(
    conn: Connection, books: Mapping[str, Book], entries: Sequence[Entry], *, recorded_at: dt.datetime
) -> list[int]:
    """Append postings to locked books in a few statements (the daily cycle writes thousands at
    once); entries of one connection are chained in the order given. Returns the posting ids."""
    if not entries:
        return []
    ids = bulk.reserve_ids(conn, schema.ledger_postings, len(entries))
    posting_rows, line_rows = [], []
    stamps: dict[dt.datetime, str] = {}  # a batch's entries share an instant or two: format each once
    dues_moved: set[str] = set()  # most postings (daily deductions) never touch dues
    postpaid_moved: dict[str, int] = {}  # code -> new balance
    for posting_id, entry in zip(ids, entries, strict=True):
        book = books[entry.service_no]
        wallet_code, dues_code = accounts.wallet(book.service_no), accounts.dues(book.service_no)
        lines = entry.lines
        _check_balanced(lines, book=book)
        stamp = stamps.get(entry.occurred_at)
        if stamp is None:
            stamp = stamps[entry.occurred_at] = _stamp(entry.occurred_at)
        seq = book.chain_seq + 1
        digest = _digest(
            book.service_no, seq, entry.kind, entry.reference, entry.memo, stamp, lines, book.chain_digest
        )
        posting_rows.append(
            (
                posting_id,
                book.service_no,
                seq,
                entry.kind,
                entry.reference,
                entry.memo,
                entry.occurred_at,
                recorded_at,
                book.chain_digest,
                digest,
                len(lines),
            )
        )
        for account, amount in lines:
            line_rows.append((posting_id, account, amount))
            if account == wallet_code:
                book.wallet -= amount  # credit-normal: a debit lowers the balance
            elif account == dues_code:
                book.dues += amount
                dues_moved.add(book.service_no)
            elif account in book.postpaid:
                book.postpaid[account] += accounts.sign(account) * amount
                postpaid_moved[account] = book.postpaid[account]
        book.chain_seq, book.chain_digest = seq, digest
    # Lines first: a posting row closes its lines, and the database checks they sum to zero then.
    bulk.insert(conn, schema.ledger_lines, ("posting_id", "account_code", "amount"), line_rows)
    bulk.insert(conn, schema.ledger_postings, _POSTING_COLUMNS, posting_rows)
    touched = [books[sn] for sn in dict.fromkeys(entry.service_no for entry in entries)]
    accounts_table = schema.ledger_accounts
    bulk.update(
        conn,
        accounts_table,
        "code",
        ("balance", "chain_seq", "chain_digest"),
        [(b.wallet, b.chain_seq, b.chain_digest, accounts.wallet(b.service_no)) for b in touched],
    )
    bulk.update(
        conn,
        accounts_table,
        "code",
        ("balance",),
        [(b.dues, accounts.dues(b.service_no)) for b in touched if b.service_no in dues_moved],
    )
    bulk.update(conn, accounts_table, "code", ("balance",), [(v, k) for k, v in postpaid_moved.items()])
    return ids


_POSTING_COLUMNS = (
    "id",
    "service_no",
    "seq",
    "kind",
    "reference",
    "memo",
    "occurred_at",
    "recorded_at",
    "prev_digest",
    "digest",
    "line_count",
)


class UnbalancedPosting(Exception):
    """A caller built a posting that breaks double entry: a programming error, never a user's. The
    database refuses such a posting too (migration 0015), so `python -O` changes nothing."""


_CONNECTION_PREFIXES = tuple(f"{kind}:" for kind in _ALL_KINDS)


def _check_balanced(lines: Sequence[tuple[str, int]], *, book: Book) -> None:
    """A posting touches no other connection's accounts, and a postpaid account only once locked."""
    if not 2 <= len(lines) <= MAX_LINES:
        raise UnbalancedPosting(f"a posting has 2 to {MAX_LINES} lines, got {len(lines)}")
    if sum([amount for _, amount in lines]) != 0:
        raise UnbalancedPosting(f"posting lines do not balance: {lines}")
    for account, amount in lines:
        if not amount or not -money.MAX_AMOUNT_PAISE <= amount <= money.MAX_AMOUNT_PAISE:
            raise UnbalancedPosting(f"bad line: {account} {amount}")
        if account.startswith(_CONNECTION_PREFIXES) and not (
            account in book.postpaid
            or account == accounts.wallet(book.service_no)
            or account == accounts.dues(book.service_no)
        ):
            raise UnbalancedPosting(f"{account} is not this book's (or was not locked)")


def posting_digest(
    *,
    service_no: str,
    seq: int,
    kind: str,
    reference: str | None,
    memo: str,
    occurred_at: dt.datetime,
    lines: Sequence[tuple[str, int]],
    prev_digest: str,
) -> str:
    return _digest(service_no, seq, kind, reference, memo, _stamp(occurred_at), lines, prev_digest)


def _stamp(occurred_at: dt.datetime) -> str:
    return occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _digest(
    service_no: str,
    seq: int,
    kind: str,
    reference: str | None,
    memo: str,
    stamp: str,
    lines: Sequence[tuple[str, int]],
    prev_digest: str,
) -> str:
    """`posting_digest` with the instant already formatted (`_stamp`): post_many's hot path."""
    # Each field length-prefixed: unambiguous whatever the text holds, and cheap to build.
    fields = [
        service_no,
        str(seq),
        kind,
        "-" if reference is None else f"+{reference}",
        memo,
        stamp,
        *[f"{account}={amount}" for account, amount in sorted(lines)],
        prev_digest,
    ]
    canonical = "".join([f"{len(field)}:{field}" for field in fields])
    return hashlib.sha256(canonical.encode()).hexdigest()
