"""Storing and reading bills. Append-only: a bill is inserted once and never changed (the database
refuses UPDATE and DELETE); a correction is the next revision, naming the one it replaces."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.billing import _statement as st
from wattwallet.store import bulk, schema


@dataclasses.dataclass(frozen=True)
class Bill:
    id: int
    bill_no: str
    service_no: str
    month: st.Month
    revision: int
    replaces_id: int | None
    language: str
    issued_at: dt.datetime
    content: dict[str, Any]
    content_hash: str
    verification_code: str

    @property
    def mode(self) -> str:
        return str(self.content.get("mode", "prepaid"))

    @property
    def amount(self) -> int:
        """Prepaid: the month's deductions; postpaid: the net payable."""
        return int(self.content["payable"] if self.mode == "postpaid" else self.content["deducted"])

    @property
    def due_on(self) -> dt.date | None:
        due = self.content.get("due_on")
        return None if due is None else dt.date.fromisoformat(due)

    @property
    def units_wh(self) -> int:
        return int(self.content["units_wh"])

    def intact(self) -> bool:
        """Whether the stored content still hashes to the stored hash and code."""
        digest = content_hash(st.canonical_json(self.content))
        return (
            digest == self.content_hash and verification_code(self.bill_no, digest) == self.verification_code
        )


def bill_number(service_no: str, month: st.Month, revision: int, *, mode: str = "prepaid") -> str:
    """BL2506-1234567890123 for June 2025 (a postpaid bill: PB2506-...); a correction adds its
    revision: ...-R2."""
    prefix = "PB" if mode == "postpaid" else "BL"
    base = f"{prefix}{month.first.year % 100:02d}{month.first.month:02d}-{service_no}"
    return base if revision == 1 else f"{base}-R{revision}"


def content_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def verification_code(bill_no: str, digest: str) -> str:
    """Eight base-32 characters from the bill number and its content hash, shown as XXXX-XXXX."""
    raw = hashlib.sha256(f"{bill_no}|{digest}".encode()).digest()
    code = base64.b32encode(raw).decode()[:8]
    return f"{code[:4]}-{code[4:]}"


_COLUMNS = (
    "id",
    "bill_no",
    "service_no",
    "month",
    "revision",
    "replaces_id",
    "language",
    "issued_at",
    "content",
    "content_hash",
    "verification_code",
)


def _bill(row: Any) -> Bill:
    (id_, bill_no, service_no, month, revision, replaces_id, language, issued_at, content, digest, code) = row
    return Bill(
        id_,
        bill_no,
        service_no,
        st.Month(month),
        revision,
        replaces_id,
        language,
        issued_at,
        json.loads(content),
        digest,
        code,
    )


def _select() -> sa.Select[Any]:
    b = schema.bills
    return sa.select(*(b.c[name] for name in _COLUMNS))


class Stored(NamedTuple):
    id: int
    revision: int
    content_hash: str


def latest_in_range(
    conn: Connection, month: st.Month, *, first: str, last: str, mode: str = "prepaid"
) -> dict[str, Stored]:
    """The newest revision of each bill of `month` for service numbers in [first, last]: its id,
    revision and hash, all a run needs to tell an unchanged bill from a stale one."""
    b = schema.bills
    rows = conn.execute(
        sa.select(b.c.service_no, b.c.id, b.c.revision, b.c.content_hash)
        .where(
            b.c.month == month.first,
            b.c.service_no >= first,
            b.c.service_no <= last,
            b.c.mode == mode,
        )
        .order_by(b.c.service_no, b.c.revision)
    ).all()
    # Ordered by revision: the last one of each service number wins.
    return {no: Stored(bill_id, revision, digest) for no, bill_id, revision, digest in rows}


@dataclasses.dataclass(frozen=True)
class NewBill:
    statement: st.Statement
    revision: int
    replaces_id: int | None
    language: str
    due_on: dt.date | None = None  # postpaid


def insert(conn: Connection, new: Sequence[NewBill], *, now: dt.datetime) -> list[Bill]:
    """Insert bills in one statement; a concurrent run that got there first makes it fail on the
    (service_no, month, revision) key, and the caller reads again."""
    if not new:
        return []
    ids = bulk.reserve_ids(conn, schema.bills, len(new))
    made: list[Bill] = []
    rows = []
    for bill_id, item in zip(ids, new, strict=True):
        s = item.statement
        canonical = s.canonical()
        digest = content_hash(canonical)
        mode = str(s.content.get("mode", "prepaid"))
        number = bill_number(s.service_no, s.month, item.revision, mode=mode)
        code = verification_code(number, digest)
        rows.append(
            (
                bill_id,
                number,
                s.service_no,
                s.month.first,
                item.revision,
                item.replaces_id,
                item.language,
                now,
                s.units_wh,
                int(s.content["payable"]) if mode == "postpaid" else s.deducted,
                s.opening_balance,
                s.closing_balance,
                s.recharged,
                canonical,
                digest,
                code,
                mode,
                item.due_on,
            )
        )
        made.append(
            Bill(
                bill_id,
                number,
                s.service_no,
                s.month,
                item.revision,
                item.replaces_id,
                item.language,
                now,
                s.content,
                digest,
                code,
            )
        )
    bulk.insert(
        conn,
        schema.bills,
        (
            "id",
            "bill_no",
            "service_no",
            "month",
            "revision",
            "replaces_id",
            "language",
            "issued_at",
            "units_wh",
            "amount",
            "opening_balance",
            "closing_balance",
            "recharged",
            "content",
            "content_hash",
            "verification_code",
            "mode",
            "due_on",
        ),
        rows,
    )
    return made


def get(
    conn: Connection,
    *,
    service_no: str,
    month: st.Month,
    revision: int | None = None,
    mode: str | None = None,
) -> Bill | None:
    """The bill of a month: the newest revision unless one is named; of the month's postpaid bill
    and prepaid statement (a switch in the month), the postpaid bill unless `mode` says."""
    b = schema.bills
    query = _select().where(b.c.service_no == service_no, b.c.month == month.first)
    query = query.where(b.c.mode == mode) if mode else query.order_by(b.c.mode)  # "postpaid" first
    query = query.where(b.c.revision == revision) if revision else query.order_by(b.c.revision.desc())
    row = conn.execute(query.limit(1)).first()
    return None if row is None else _bill(row)


def by_id(conn: Connection, bill_id: int) -> Bill | None:
    row = conn.execute(_select().where(schema.bills.c.id == bill_id)).first()
    return None if row is None else _bill(row)


def by_code(conn: Connection, code: str) -> list[Bill]:
    rows = conn.execute(_select().where(schema.bills.c.verification_code == code).order_by(schema.bills.c.id))
    return [_bill(row) for row in rows]


def listing(conn: Connection, *, service_no: str) -> list[Bill]:
    """Every bill of a connection, every revision, newest month first."""
    b = schema.bills
    rows = conn.execute(
        _select().where(b.c.service_no == service_no).order_by(b.c.month.desc(), b.c.revision.desc())
    )
    return [_bill(row) for row in rows]
