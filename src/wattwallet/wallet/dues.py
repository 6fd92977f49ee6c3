"""Pending dues on a connection (arrears, technical adjustments), recovered from recharges."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import connection, errors, money, recharge
from wattwallet.ledger import accounts, postings
from wattwallet.store import schema


class Kind(enum.StrEnum):
    ARREARS = "arrears"
    TECHNICAL_ADJUSTMENT = "technical_adjustment"


_COUNTER_ACCOUNT = {
    Kind.ARREARS: accounts.OPENING_ARREARS,
    Kind.TECHNICAL_ADJUSTMENT: accounts.TECHNICAL_ADJUSTMENTS,
}


class DuesKindInvalid(errors.InvalidInput):
    code = "dues_kind_invalid"


class ReasonMissing(errors.InvalidInput):
    code = "reason_missing"


class DuesReferenceConflict(errors.ReferenceReused):
    """The dues reference was used before for other dues."""


@dataclasses.dataclass(frozen=True)
class DuesAdded:
    service_no: str
    kind: Kind
    reference: str
    amount: int
    dues_total: int
    replayed: bool


def add(
    ctx: Context,
    *,
    service_no: str,
    kind: str,
    amount_paise: int,
    reason: str,
    reference: str,
    now: dt.datetime,
) -> DuesAdded:
    """Raise dues on a connection; the same reference again is the same dues, not new ones."""
    service_no = connection.service_number(service_no)
    try:
        dues_kind = Kind(kind)
    except ValueError:
        raise DuesKindInvalid(f"dues kind must be arrears or technical_adjustment, got {kind!r}") from None
    ref = recharge.reference(reference, what="dues reference")
    if amount_paise <= 0:
        raise money.AmountNotPositive("dues must be a positive amount")
    reason = reason.strip()
    if not reason or len(reason) > 200:
        raise ReasonMissing("a reason of 1 to 200 characters is required for dues")
    posting_kind = f"dues.{dues_kind.value}"
    with ctx.store.write() as conn:
        book = postings.lock(conn, service_no=service_no)
        p, line = schema.ledger_postings, schema.ledger_lines
        earlier = conn.execute(
            sa.select(line.c.amount)
            .select_from(p.join(line, line.c.posting_id == p.c.id))
            .where(
                p.c.service_no == service_no,
                p.c.kind == posting_kind,
                p.c.reference == ref,
                line.c.account_code == accounts.dues(service_no),
            )
        ).scalar()
        if earlier is not None:
            if earlier != amount_paise:
                raise DuesReferenceConflict(f"dues reference {ref} was already used for another amount")
            return DuesAdded(service_no, dues_kind, ref, amount_paise, book.dues, replayed=True)
        postings.post(
            conn,
            book,
            kind=posting_kind,
            lines=[
                postings.Line(accounts.dues(service_no), amount_paise),
                postings.Line(_COUNTER_ACCOUNT[dues_kind], -amount_paise),
            ],
            occurred_at=now,
            recorded_at=now,
            reference=ref,
            memo=reason,
        )
        return DuesAdded(service_no, dues_kind, ref, amount_paise, book.dues, replayed=False)
