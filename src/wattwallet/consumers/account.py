"""What a consumer sees of one connection (DOMAIN.md §6: balance, daily consumption and every
deduction, daily), as plain read models the app, the portal and the HTTP API show as they are.

Reads only. Callers check ownership first (`consumer_access.check_owner`); nothing here asks who is
looking. Money is integer paise; instants are aware UTC datetimes; lists are newest first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import connection, short_bill
from wattwallet.lifecycle import complaints
from wattwallet.store import connections, schema
from wattwallet.wallet import recharges
from wattwallet.wallet import views as wallets

MAX_LIMIT = 100


@dataclasses.dataclass(frozen=True)
class ConnectionSummary:
    service_no: str
    consumer_name: str
    state: str
    language: str
    billing_mode: str = connection.BillingMode.PREPAID.value


@dataclasses.dataclass(frozen=True)
class Wallet:
    service_no: str
    state: str
    billing_mode: str
    relay: str
    balance: int
    dues: int
    adc: int
    days_left: int
    emergency_credit: int
    first_recharge_minimum: int | None  # None once the first recharge is made


@dataclasses.dataclass(frozen=True)
class Item:
    component: str
    amount: int
    label: str = ""  # what the consumer sees, in the connection's language (levies: the book's name)


@dataclasses.dataclass(frozen=True)
class Deduction:
    day: dt.date
    wh: int
    amount: int
    balance_after: int
    items: list[Item]


@dataclasses.dataclass(frozen=True)
class Alert:
    kind: str
    threshold: int
    balance: int
    sent_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class ShortBill:
    ref: str
    amount: int
    reason: str
    raised_on: dt.date
    due_on: dt.date
    status: str
    deducted_at: dt.datetime | None


def days_left(*, balance: int, adc: int) -> int:
    """Whole days the balance lasts at the average daily consumption; 0 when nothing is left or
    there is no average to go by (an estimate for the consumer, never used for a rule)."""
    return balance // adc if adc > 0 and balance > 0 else 0


def held_by(ctx: Context, *, mobile: str) -> list[ConnectionSummary]:
    """Every connection registered to this mobile: one person may hold several."""
    c, cons = schema.connections, schema.consumers
    with ctx.store.read() as conn:
        rows = conn.execute(
            sa.select(c.c.service_no, cons.c.name, c.c.state, c.c.language, c.c.billing_mode)
            .select_from(c.join(cons, cons.c.id == c.c.consumer_id))
            .where(c.c.mobile == mobile)
            .order_by(c.c.service_no)
        ).all()
    return [ConnectionSummary(r.service_no, r.name, r.state, r.language, r.billing_mode) for r in rows]


def summary(ctx: Context, *, service_no: str) -> ConnectionSummary:
    with ctx.store.read() as conn:
        row = connections.get(conn, connection.service_number(service_no))
    return ConnectionSummary(
        row.service_no, row.consumer_name, row.state.value, row.language.value, row.mode.value
    )


def wallet(ctx: Context, *, service_no: str, now: dt.datetime) -> Wallet:
    """Balance and dues as the ledger has them, with the ADC and emergency credit the daily cycle
    last worked out."""
    seen = wallets.view(ctx, service_no=service_no, now=now)
    s = schema.prepaid_state
    with ctx.store.read() as conn:
        state = conn.execute(
            sa.select(s.c.adc_paise, s.c.emergency_credit_paise).where(
                s.c.service_no == seen.connection.service_no
            )
        ).first()
    adc = state.adc_paise if state is not None else 0
    target = seen.connection
    return Wallet(
        service_no=target.service_no,
        state=target.state.value,
        billing_mode=target.mode.value,
        relay=target.relay,
        balance=seen.balance,
        dues=seen.dues,
        adc=adc,
        days_left=days_left(balance=seen.balance, adc=adc),
        emergency_credit=state.emergency_credit_paise if state is not None else 0,
        first_recharge_minimum=seen.first_recharge_minimum,
    )


def deductions(
    ctx: Context, *, service_no: str, limit: int, before: dt.date | None = None
) -> list[Deduction]:
    """Itemised daily deductions, newest day first; `before` pages back (days strictly earlier)."""
    d, c = schema.daily_deductions, schema.connections
    query = sa.select(d).where(d.c.service_no == service_no)
    if before is not None:
        query = query.where(d.c.day < before)
    with ctx.store.read() as conn:
        rows = conn.execute(query.order_by(d.c.day.desc()).limit(_bounded(limit))).all()
        language = conn.execute(sa.select(c.c.language).where(c.c.service_no == service_no)).scalar()
    lang = getattr(language, "value", language) or "en"
    return [
        Deduction(
            day=r.day,
            wh=r.wh,
            amount=r.amount,
            balance_after=r.balance_after,
            items=[
                Item(component, paise, ctx.tariffs.label(component, language=lang))
                for component, paise in json.loads(r.items)
            ],
        )
        for r in rows
    ]


def recharge_history(ctx: Context, *, service_no: str, limit: int) -> list[recharges.Receipt]:
    with ctx.store.read() as conn:
        return recharges.history(conn, service_no, limit=_bounded(limit))


def alerts(ctx: Context, *, service_no: str, limit: int) -> list[Alert]:
    rows = _newest(ctx, schema.alerts, "sent_at", service_no=service_no, limit=limit)
    return [Alert(r.kind, r.threshold, r.balance, r.sent_at) for r in rows]


def short_bills(ctx: Context, *, service_no: str, limit: int) -> list[ShortBill]:
    sb = schema.short_bills
    rows = _newest(ctx, sb, "raised_at", service_no=service_no, limit=limit)
    return [
        ShortBill(
            r.ref,
            r.amount,
            r.reason,
            r.raised_on,
            short_bill.due_on(raised_on=r.raised_on, rules=ctx.policy),
            r.status,
            r.deducted_at,
        )
        for r in rows
    ]


def complaint_history(ctx: Context, *, service_no: str, limit: int) -> list[complaints.Complaint]:
    rows = _newest(ctx, schema.complaints, "opened_at", service_no=service_no, limit=limit)
    return [as_complaint(r) for r in rows]


def _newest(ctx: Context, table: sa.Table, when: str, *, service_no: str, limit: int) -> list[Any]:
    """A connection's rows of `table`, newest first by `when` (then id), at most `limit`."""
    with ctx.store.read() as conn:
        return list(
            conn.execute(
                sa.select(table)
                .where(table.c.service_no == service_no)
                .order_by(table.c[when].desc(), table.c.id.desc())
                .limit(_bounded(limit))
            ).all()
        )


def as_complaint(row: Any) -> complaints.Complaint:
    return complaints.Complaint(
        row.ref,
        row.service_no,
        row.kind,
        row.source,
        row.opened_at,
        row.due_at,
        row.resolved_at,
        row.resolution,
    )


def _bounded(limit: int) -> int:
    """The interface validates `limit`; this keeps any other caller from asking for everything."""
    return max(1, min(limit, MAX_LIMIT))
