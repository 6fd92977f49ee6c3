"""Passbook: a month of the wallet's movements, from the same read models as the API: every daily
deduction itemised (energy by slab, fixed, duty, each levy), every recharge with its dues split, short
bills, and the days spent on emergency credit; also as CSV."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

from starlette.responses import Response

from wattwallet.consumers import account as account_views
from wattwallet.domain import clock, money
from wattwallet.messaging import formatting
from wattwallet.wallet import recharges
from wattwallet.web import base


@dataclasses.dataclass(frozen=True)
class Entry:
    day: dt.date
    kind: str  # deduction | recharge | short_bill
    amount: int  # signed: money into the wallet is positive
    balance_after: int | None
    deduction: account_views.Deduction | None = None
    receipt: recharges.Receipt | None = None
    short_bill: account_views.ShortBill | None = None


def _month(text: str, today: dt.date) -> dt.date:
    try:
        year, month = (int(p) for p in text.split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def _next_month(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1)


def entries(page: base.Page, first: dt.date) -> list[Entry]:
    assert page.service_no is not None
    ctx = page.rt.ctx
    after = _next_month(first)
    found: list[Entry] = []
    for d in account_views.deductions(ctx, service_no=page.service_no, limit=31, before=after):
        if d.day >= first:
            found.append(Entry(d.day, "deduction", -d.amount, d.balance_after, deduction=d))
    for r in account_views.recharge_history(ctx, service_no=page.service_no, limit=account_views.MAX_LIMIT):
        day = clock.ist_date(r.paid_at)
        if first <= day < after:
            found.append(Entry(day, "recharge", r.amount, r.balance, receipt=r))
    for b in account_views.short_bills(ctx, service_no=page.service_no, limit=account_views.MAX_LIMIT):
        if first <= b.raised_on < after:
            found.append(Entry(b.raised_on, "short_bill", 0, None, short_bill=b))
    found.sort(key=lambda e: (e.day, e.kind != "deduction"), reverse=True)
    return found


def passbook(page: base.Page) -> Response:
    today = clock.ist_date(page.rt.now())
    first = _month(page.query("month"), today)
    found = entries(page, first)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    upcoming = _next_month(first)
    return base.render(
        page,
        "passbook.html",
        entries=found,
        month=first,
        month_name=f"{formatting.MONTHS[page.lang][first.month - 1]} {first.year}",
        previous=f"{previous:%Y-%m}",
        upcoming=f"{upcoming:%Y-%m}" if upcoming <= today else None,
        deducted=sum(-e.amount for e in found if e.kind == "deduction"),
        recharged=sum(e.amount for e in found if e.kind == "recharge"),
        to_dues=sum(e.receipt.to_dues for e in found if e.receipt is not None),
    )


def passbook_csv(page: base.Page) -> Response:
    today = clock.ist_date(page.rt.now())
    first = _month(page.query("month"), today)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "kind", "component", "amount_rupees", "balance_after_rupees"])
    for e in entries(page, first):
        balance = money.rupees(e.balance_after) if e.balance_after is not None else ""
        if e.deduction is not None:
            writer.writerow([e.day.isoformat(), "deduction", "total", money.rupees(e.amount), balance])
            for item in e.deduction.items:
                writer.writerow(
                    [e.day.isoformat(), "deduction", item.component, money.rupees(-item.amount), ""]
                )
        elif e.receipt is not None:
            r = e.receipt
            writer.writerow([e.day.isoformat(), "recharge", "total", money.rupees(e.amount), balance])
            writer.writerow([e.day.isoformat(), "recharge", "to_dues", money.rupees(r.to_dues), ""])
        elif e.short_bill is not None:
            b = e.short_bill
            writer.writerow([e.day.isoformat(), "short_bill", b.status, money.rupees(b.amount), ""])
    response = Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="passbook-{page.service_no}-{first:%Y-%m}.csv"'
        },
    )
    return response
