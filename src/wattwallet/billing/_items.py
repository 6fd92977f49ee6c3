"""What a postpaid consumer owes, item by item (`postpaid_items`): each bill's new amount, and what a
switch to postpaid carried onto the first bill. Payments and advances settle the oldest item first;
the unpaid amounts of a connection's items always sum to its receivable account (`ledger verify`)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.domain import billing_mode
from wattwallet.store import bulk, schema


class Kind(enum.StrEnum):
    BILL = "bill"
    CARRIED = "carried"  # a wallet debit (emergency credit used) carried from prepaid
    DUES = "dues"  # pending prepaid dues carried over
    SHORT_BILL = "short_bill"  # an open short bill carried over
    ARREARS = "arrears"  # brought forward when the connection joined WattWallet postpaid
    RELEASED = "released"  # held consumption staff released (lifecycle/holds.py)


class NewItem(NamedTuple):
    service_no: str
    kind: Kind
    label: str
    amount: int
    bill_id: int | None = None
    due_on: dt.date | None = None


def add(conn: Connection, items: Sequence[NewItem], *, now: dt.datetime) -> list[int]:
    """Insert items (amounts of 0 are skipped); returns the ids of those inserted, in order."""
    kept = [item for item in items if item.amount > 0]
    if not kept:
        return []
    ids = bulk.reserve_ids(conn, schema.postpaid_items, len(kept))
    bulk.insert(
        conn,
        schema.postpaid_items,
        ("id", "service_no", "kind", "bill_id", "label", "due_on", "amount", "paid", "created_at"),
        [
            (i, item.service_no, item.kind.value, item.bill_id, item.label, item.due_on, item.amount, 0, now)
            for i, item in zip(ids, kept, strict=True)
        ],
    )
    return ids


class Unpaid(NamedTuple):
    id: int
    service_no: str
    kind: str
    label: str
    due_on: dt.date | None
    amount: int
    paid: int

    @property
    def owed(self) -> int:
        return self.amount - self.paid


def unpaid(conn: Connection, service_nos: Sequence[str]) -> dict[str, list[Unpaid]]:
    """Each connection's unpaid items, oldest first."""
    if not service_nos:
        return {}
    i = schema.postpaid_items
    rows = conn.execute(
        sa.select(i.c.id, i.c.service_no, i.c.kind, i.c.label, i.c.due_on, i.c.amount, i.c.paid)
        .where(i.c.service_no.in_(list(service_nos)), i.c.paid < i.c.amount)
        .order_by(i.c.service_no, i.c.id)
    )
    found: dict[str, list[Unpaid]] = {}
    for row in rows:
        found.setdefault(row.service_no, []).append(Unpaid._make(row))
    return found


def settle(conn: Connection, items: Sequence[Unpaid], amount: int) -> int:
    """Apply `amount` to `items` oldest first; returns what was applied (at most what they owe)."""
    applied, left = billing_mode.apply_oldest_first(amount, [(item.id, item.owed) for item in items])
    i = schema.postpaid_items
    for item_id, take in applied:
        conn.execute(sa.update(i).where(i.c.id == item_id).values(paid=i.c.paid + take))
    return amount - left


def close_all(conn: Connection, service_no: str) -> None:
    """Every item of the connection settled (a switch to prepaid moves what they owe to dues)."""
    i = schema.postpaid_items
    conn.execute(
        sa.update(i).where(i.c.service_no == service_no, i.c.paid < i.c.amount).values(paid=i.c.amount)
    )


def overdue(conn: Connection, *, today: dt.date, limit: int = 500) -> list[Unpaid]:
    """Unpaid bill items past their due date, most overdue first (the staff list)."""
    i = schema.postpaid_items
    rows = conn.execute(
        sa.select(i.c.id, i.c.service_no, i.c.kind, i.c.label, i.c.due_on, i.c.amount, i.c.paid)
        .where(i.c.paid < i.c.amount, i.c.due_on.is_not(None), i.c.due_on < today)
        .order_by(i.c.due_on, i.c.service_no)
        .limit(limit)
    )
    return [Unpaid._make(row) for row in rows]
