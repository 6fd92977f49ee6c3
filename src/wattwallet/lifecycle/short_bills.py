"""Short bills (DOMAIN.md §4): notice at once, reminders on days 12-14, deduction on day 15.

Day 0 is the IST day the bill is raised. The deduction takes the amount from the wallet whatever
the balance; the usual alert and disconnection rules then apply to what is left.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import clock, connection, errors, money, recharge, short_bill
from wattwallet.domain import events as domain_events
from wattwallet.ledger import accounts, postings
from wattwallet.lifecycle import consequences as balance
from wattwallet.messaging import outbox as notifications
from wattwallet.store import connections, schema

REVENUE_ACCOUNT = "revenue:short_bill"


class ShortBillInvalid(errors.InvalidInput):
    code = "short_bill_invalid"


class ShortBillConflict(errors.ReferenceReused):
    """The short-bill reference was used before for another bill."""


class ShortBillNotAllowed(errors.RuleViolation):
    code = "short_bill_not_allowed"


@dataclasses.dataclass(frozen=True)
class ShortBill:
    ref: str
    service_no: str
    amount: int
    reason: str
    raised_on: dt.date
    due_on: dt.date
    status: str
    replayed: bool = False


def raise_bill(
    ctx: Context,
    *,
    service_no: str,
    amount_paise: int,
    reason: str,
    ref: str,
    now: dt.datetime,
    events: domain_events.Log | None = None,
) -> ShortBill:
    """Raise a short bill and tell the consumer at once. The same ref again is the same bill."""
    events = [] if events is None else events  # a caller that needs no replay lines passes none
    service_no = connection.service_number(service_no)
    ref = recharge.reference(ref, what="short-bill reference")
    if amount_paise <= 0:
        raise money.AmountNotPositive("a short bill must be a positive amount")
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason or len(reason) > 200:
        raise ShortBillInvalid("a short bill needs a reason of 1 to 200 characters")
    follow: domain_events.Log = []
    with ctx.store.write() as conn:
        sb = schema.short_bills
        earlier = conn.execute(sa.select(sb).where(sb.c.ref == ref)).first()
        if earlier is not None:
            if earlier.service_no != service_no or earlier.amount != amount_paise:
                raise ShortBillConflict(
                    f"short bill {ref} was already raised for another amount or connection"
                )
            repeat = dataclasses.replace(_bill(earlier, ctx), replayed=True)
            events.append(
                domain_events.ShortBillRaised(
                    at=now,
                    connection=service_no,
                    ref=ref,
                    amount=amount_paise,
                    reason=repeat.reason,
                    due=repeat.due_on,
                    repeat=True,
                )
            )
            return repeat
        postings.lock(conn, service_no=service_no)
        target = connections.get(conn, service_no)
        if target.state is connection.State.TERMINATED or target.mode is not connection.BillingMode.PREPAID:
            raise ShortBillNotAllowed("short bills are for prepaid connections in service")
        today = clock.ist_date(now)
        conn.execute(
            sa.insert(sb),
            {
                "ref": ref,
                "service_no": service_no,
                "amount": amount_paise,
                "reason": reason,
                "raised_at": now,
                "raised_on": today,
                "status": short_bill.Status.OPEN,
                "reminders_sent": 0,
            },
        )
        due = short_bill.due_on(raised_on=today, rules=ctx.policy)
        follow.append(
            domain_events.ShortBillRaised(
                at=now, connection=service_no, ref=ref, amount=amount_paise, reason=reason, due=due
            )
        )
        message = notifications.Message(
            service_no,
            target.language.value,
            "short_bill_raised",
            {"amount": amount_paise, "reason": reason, "ref": ref, "due": due},
        )
        balance.notify(conn, [message], now=now, events=follow)
    events.extend(follow)
    return ShortBill(ref, service_no, amount_paise, reason, today, due, short_bill.Status.OPEN)


def run_notices(ctx: Context, *, now: dt.datetime, events: domain_events.Log) -> None:
    """Send today's reminders and make today's deductions (run once a day at the notice time)."""
    today = clock.ist_date(now)
    sb = schema.short_bills
    with ctx.store.read() as conn:
        open_bills = conn.execute(
            sa.select(sb).where(sb.c.status == short_bill.Status.OPEN).order_by(sb.c.id)
        ).all()
    for bill in open_bills:  # a terminated connection's bills were settled with its termination
        step = short_bill.step_on(raised_on=bill.raised_on, today=today, rules=ctx.policy)
        if step.action is short_bill.Action.DEDUCT:
            _deduct(ctx, bill, day=step.day, now=now, events=events)
        elif step.action is short_bill.Action.REMIND:
            _remind(ctx, bill, step=step, now=now, events=events)


def _remind(
    ctx: Context, bill: Any, *, step: short_bill.Step, now: dt.datetime, events: domain_events.Log
) -> None:
    sb = schema.short_bills
    day, nth = step.day, step.reminder
    follow: domain_events.Log = []
    with ctx.store.write() as conn:
        # Claim the reminder first: a second run the same day finds it sent and does nothing.
        claimed = conn.execute(
            sa.update(sb).where(sb.c.id == bill.id, sb.c.reminders_sent < nth).values(reminders_sent=nth)
        ).rowcount
        if not claimed:
            return
        target = connections.get(conn, bill.service_no)
        due = short_bill.due_on(raised_on=bill.raised_on, rules=ctx.policy)
        follow.append(
            domain_events.ShortBillReminded(
                at=now, connection=bill.service_no, ref=bill.ref, amount=bill.amount, day=day
            )
        )
        message = notifications.Message(
            bill.service_no,
            target.language.value,
            "short_bill_reminder",
            {
                "amount": bill.amount,
                "ref": bill.ref,
                "due": due,
                "days_left": ctx.policy.short_bill_days - step.day,
            },
        )
        balance.notify(conn, [message], now=now, events=follow)
    events.extend(follow)


def _deduct(ctx: Context, bill: Any, *, day: int, now: dt.datetime, events: domain_events.Log) -> None:
    sb = schema.short_bills
    follow: domain_events.Log = []
    with ctx.store.write() as conn:
        book = postings.lock(conn, service_no=bill.service_no)
        claimed = conn.execute(
            sa.update(sb)
            .where(sb.c.id == bill.id, sb.c.status == short_bill.Status.OPEN)
            .values(status=short_bill.Status.DEDUCTED, deducted_at=now)
        ).rowcount
        if not claimed:
            return  # deducted by another run, or settled with a termination
        target = connections.get(conn, bill.service_no)
        _post(
            conn,
            book,
            bill,
            charged=accounts.wallet(bill.service_no),
            status=short_bill.Status.DEDUCTED,
            now=now,
        )
        follow.append(
            domain_events.ShortBillDeducted(
                at=now, connection=bill.service_no, ref=bill.ref, amount=bill.amount, balance=book.wallet
            )
        )
        message = notifications.Message(
            bill.service_no,
            target.language.value,
            "short_bill_deducted",
            {"amount": bill.amount, "ref": bill.ref, "balance": book.wallet},
        )
        balance.notify(conn, [message], now=now, events=follow)
        balance.after_change(
            ctx,
            conn,
            service_no=bill.service_no,
            language=target.language.value,
            balance=book.wallet,
            now=now,
            events=follow,
        )
    events.extend(follow)


def _bill(row: Any, ctx: Context) -> ShortBill:
    due = short_bill.due_on(raised_on=row.raised_on, rules=ctx.policy)
    return ShortBill(row.ref, row.service_no, row.amount, row.reason, row.raised_on, due, row.status)


def settle_at_termination(conn: Any, book: postings.Book, *, now: dt.datetime) -> int:
    """Open short bills of a connection being terminated become arrears (dues) at once, so no bill
    is lost with the wallet. Returns the amount moved. Call with the connection's money locked."""
    sb = schema.short_bills
    bills = conn.execute(
        sa.select(sb).where(sb.c.service_no == book.service_no, sb.c.status == short_bill.Status.OPEN)
    ).all()
    total = 0
    for bill in bills:
        _post(
            conn,
            book,
            bill,
            charged=accounts.dues(book.service_no),
            status=short_bill.Status.SETTLED,
            now=now,
        )
        total += bill.amount
    return total


def move_to_postpaid(conn: Any, book: postings.Book, *, now: dt.datetime) -> list[tuple[str, int]]:
    """Open short bills of a connection switching to postpaid go onto its first postpaid bill (its
    receivable account, locked in `book`). Returns (ref, amount) of each, oldest first."""
    sb = schema.short_bills
    bills = conn.execute(
        sa.select(sb)
        .where(sb.c.service_no == book.service_no, sb.c.status == short_bill.Status.OPEN)
        .order_by(sb.c.id)
    ).all()
    for bill in bills:
        _post(
            conn,
            book,
            bill,
            charged=accounts.receivable(book.service_no),
            status=short_bill.Status.SETTLED,
            now=now,
        )
    return [(bill.ref, bill.amount) for bill in bills]


def _post(conn: Any, book: postings.Book, bill: Any, *, charged: str, status: str, now: dt.datetime) -> None:
    """Post a short bill to the wallet (deducted on day 15), to dues (settled at termination) or to
    the receivable (carried to postpaid)."""
    accounts.ensure_system_accounts(conn, now=now, codes=[REVENUE_ACCOUNT])
    posting_id = postings.post(
        conn,
        book,
        kind="short_bill" if status == short_bill.Status.DEDUCTED else "short_bill.arrears",
        lines=[postings.Line(charged, bill.amount), postings.Line(REVENUE_ACCOUNT, -bill.amount)],
        occurred_at=now,
        recorded_at=now,
        reference=bill.ref,
        memo=f"short bill: {bill.reason}",
    )
    sb = schema.short_bills
    conn.execute(
        sa.update(sb).where(sb.c.id == bill.id).values(status=status, deducted_at=now, posting_id=posting_id)
    )
