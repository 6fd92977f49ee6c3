"""The refund queue: money the payment gateway took that the wallet never got.

A webhook event that finds a payment it cannot credit (a recharge rule refused it after the money
was taken, e.g. ₹550 once the first recharge is done: `not_multiple_of_100`; or the gateway reports
another amount than the intent's: `amount_mismatch`) records a refund due for that intent, once,
in the event's own transaction, and tells the consumer (`refund_due`). Staff return the money
through the gateway and mark it refunded here with the gateway's refund reference; who and when
are kept. Marking twice, or an unknown id, is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import errors, money
from wattwallet.messaging import outbox as notifications
from wattwallet.store import schema

DUE, REFUNDED = "due", "refunded"
STATUSES = (DUE, REFUNDED)
MESSAGE_KIND = "refund_due"
REFERENCE_MAX = 64
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")


class RefundNotFound(errors.NotFound):
    code = "refund_not_found"


class AlreadyRefunded(errors.Conflict):
    code = "refund_already_refunded"


class RefundInvalid(errors.InvalidInput):
    code = "refund_invalid"


@dataclasses.dataclass(frozen=True)
class Refund:
    id: int
    intent_id: str
    service_no: str
    amount: int
    code: str
    detail: str
    event_id: str
    gateway_payment_id: str | None
    status: str
    created_at: dt.datetime
    refunded_at: dt.datetime | None
    refunded_by: str | None
    refund_reference: str | None

    @property
    def summary(self) -> str:
        """What the consumer reads: "₹550.00 payment refused; refund due" (or "refunded ...")."""
        paid = f"{money.inr(self.amount)} payment refused"
        if self.status == REFUNDED:
            return f"{paid}; refunded (gateway reference {self.refund_reference})"
        return f"{paid}; refund due"


def record(
    conn: Connection,
    *,
    intent_id: str,
    service_no: str,
    amount: int,
    code: str,
    detail: str,
    event_id: str,
    gateway_payment_id: str | None,
    now: dt.datetime,
) -> bool:
    """Inside the webhook event's transaction: a refund due for the intent, unless one is recorded
    already (a second event about the same payment adds nothing), and the message to the consumer.
    True when it was new."""
    r = schema.refunds
    if conn.execute(sa.select(r.c.id).where(r.c.intent_id == intent_id)).first() is not None:
        return False
    conn.execute(
        sa.insert(r).values(
            intent_id=intent_id,
            service_no=service_no,
            amount=amount,
            code=code[:40],
            detail=detail,
            event_id=event_id,
            gateway_payment_id=gateway_payment_id,
            status=DUE,
            created_at=now,
        )
    )
    c = schema.connections
    language = conn.execute(sa.select(c.c.language).where(c.c.service_no == service_no)).scalar_one()
    message = notifications.Message(
        service_no=service_no, language=language, kind=MESSAGE_KIND, figures={"amount": amount}
    )
    notifications.store(conn, [(message, message.render())], now=now)
    return True


def listing(ctx: Context, *, status: str | None = DUE) -> list[Refund]:
    """The queue, oldest first; `status` None for every refund."""
    if status is not None and status not in STATUSES:
        raise RefundInvalid(f"a refund's status is one of {', '.join(STATUSES)}, got {status!r}")
    r = schema.refunds
    query = sa.select(r).order_by(r.c.created_at, r.c.id)
    if status is not None:
        query = query.where(r.c.status == status)
    with ctx.store.read() as conn:
        return [_refund(row) for row in conn.execute(query)]


def for_connection(ctx: Context, *, service_no: str) -> list[Refund]:
    """A connection's refunds, newest first (what its consumer sees)."""
    r = schema.refunds
    with ctx.store.read() as conn:
        rows = conn.execute(
            sa.select(r).where(r.c.service_no == service_no).order_by(r.c.created_at.desc(), r.c.id.desc())
        )
        return [_refund(row) for row in rows]


def mark_refunded(ctx: Context, *, refund_id: int, reference: str, by: str, now: dt.datetime) -> Refund:
    """Staff returned the money: keep the gateway's refund reference, who marked it and when."""
    text = str(reference).strip()
    if not 1 <= len(text) <= REFERENCE_MAX or not _REFERENCE.match(text):
        raise RefundInvalid(
            f"the gateway's refund reference is 1 to {REFERENCE_MAX} letters, digits or . _ : / - "
            "(starting with a letter or digit)"
        )
    r = schema.refunds
    with ctx.store.write() as conn:
        query = sa.select(r).where(r.c.id == refund_id)
        if conn.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE already holds the write lock
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise RefundNotFound(f"no refund with id {refund_id}")
        found = _refund(row)
        if found.status == REFUNDED:
            raise AlreadyRefunded(
                f"refund {refund_id} was marked refunded by {found.refunded_by} at "
                f"{found.refunded_at.isoformat() if found.refunded_at else '?'} "
                f"(gateway reference {found.refund_reference})",
                refund_reference=found.refund_reference,
            )
        changes: dict[str, Any] = {
            "status": REFUNDED,
            "refunded_at": now,
            "refunded_by": by,
            "refund_reference": text,
        }
        conn.execute(sa.update(r).where(r.c.id == refund_id).values(**changes))
    return dataclasses.replace(found, **changes)


def _refund(row: Any) -> Refund:
    return Refund(**{field.name: getattr(row, field.name) for field in dataclasses.fields(Refund)})
