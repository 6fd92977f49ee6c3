"""The postpaid monthly bill (DOMAIN.md §8): the month's rated days, arrears, advance, net payable
and a due date, on the same e-bill document (append-only, verification code, signed link).

The days were rated by the daily cycle with the prepaid engine itself (`postpaid_charges`), so a
month billed postpaid equals to the paisa the deductions it would have had prepaid. A bill takes
every day not billed yet up to the month's end (a late catch-up reading lands on the next bill),
posts it (receivable against the revenue accounts), sets any advance against what is owed, and
adds its amount to the open items that payments settle oldest first.

Set-based like the prepaid run: a chunk of service numbers costs a handful of statements.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.billing import _charges, _items
from wattwallet.billing import _repository as repo
from wattwallet.billing import _statement as st
from wattwallet.domain import clock, policy
from wattwallet.ledger import accounts, postings
from wattwallet.lifecycle import unbilled
from wattwallet.store import schema


@dataclasses.dataclass
class _Draft:
    service_no: str
    name: str
    category: str
    load_w: int
    meter: str
    language: str
    wh: int = 0
    days: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    components: dict[str, int] = dataclasses.field(default_factory=lambda: collections.defaultdict(int))
    charges: int = 0
    pending: bool = False


@dataclasses.dataclass
class ChunkResult:
    bills: list[repo.Bill]
    pending: int
    connections: int
    unchanged: int = 0  # billed already (a re-run)


def run_chunk(
    conn: Connection, month: st.Month, keys: Sequence[str], *, now: dt.datetime, rules: policy.Policy
) -> ChunkResult:
    """Bill `keys` (sorted, one contiguous range) for `month` inside the caller's write transaction."""
    first, last = keys[0], keys[-1]
    billed = repo.latest_in_range(conn, month, first=first, last=last, mode="postpaid")
    drafts = _drafts(conn, first, last, set(keys) - set(billed))
    _pending(conn, month, first, last, drafts)
    taken = _add_days(conn, month, first, last, drafts)
    ready = [d for d in drafts.values() if not d.pending]
    if not ready:
        return ChunkResult([], len(drafts), len(keys), len(billed))
    books = postings.lock_range(conn, first=first, last=last, postpaid=True)
    owed = _items.unpaid(conn, [d.service_no for d in ready])
    paid_in_month = _payments(conn, month, first, last)
    deposits = {no: book.balance(accounts.deposit(no)) for no, book in books.items()}
    issued_on = clock.ist_date(now)
    due_on = issued_on + dt.timedelta(days=rules.postpaid_due_days)
    entries: list[postings.Entry] = []
    new: list[repo.NewBill] = []
    applied: dict[str, int] = {}
    for d in ready:
        book = books[d.service_no]
        receivable = book.balance(accounts.receivable(d.service_no))
        advance = book.balance(accounts.advance(d.service_no))
        use = min(advance, receivable + d.charges)
        payable = receivable + d.charges - use
        applied[d.service_no] = use
        lines: dict[str, int] = collections.defaultdict(int)
        for component, paise in d.components.items():
            lines[accounts.for_charge(component)] -= paise
        lines[accounts.receivable(d.service_no)] += d.charges - use
        lines[accounts.advance(d.service_no)] += use
        kept = [(code, paise) for code, paise in sorted(lines.items()) if paise]
        if kept:
            entries.append(
                postings.Entry(
                    d.service_no,
                    "postpaid.bill",
                    kept,
                    now,
                    repo.bill_number(d.service_no, month, 1, mode="postpaid"),
                    f"postpaid bill {month}",
                )
            )
        content = _content(
            d,
            month,
            arrears=owed.get(d.service_no, []),
            receivable=receivable,
            advance=advance,
            use=use,
            payable=payable,
            due_on=due_on,
            issued_on=issued_on,
            paid=paid_in_month.get(d.service_no, 0),
            deposit=deposits.get(d.service_no, 0),
        )
        new.append(repo.NewBill(st.Statement(d.service_no, month, content), 1, None, d.language, due_on))
    postings.post_many(conn, books, entries, recorded_at=now)
    made = repo.insert(conn, new, now=now)
    _items.add(
        conn,
        [
            _items.NewItem(b.service_no, _items.Kind.BILL, b.bill_no, int(b.content["charges"]), b.id, due_on)
            for b in made
        ],
        now=now,
    )
    # What was carried over without a date (arrears, a prepaid debit, dues) is now demanded by this
    # bill: it falls due with it.
    i = schema.postpaid_items
    conn.execute(
        sa.update(i)
        .where(i.c.service_no.in_([b.service_no for b in made]), i.c.due_on.is_(None), i.c.paid < i.c.amount)
        .values(due_on=due_on)
    )
    # The advance used settles what is owed oldest first, this bill's own amount last.
    fresh = _items.unpaid(conn, [b.service_no for b in made if applied[b.service_no]])
    for no, items in fresh.items():
        _items.settle(conn, items, applied[no])
    _charges.take(conn, {b.service_no: taken[b.service_no] for b in made if b.service_no in taken})
    _restart_totals(conn, [b.service_no for b in made], month)
    return ChunkResult(made, len(drafts) - len(ready), len(keys), len(billed))


def _drafts(conn: Connection, first: str, last: str, wanted: set[str]) -> dict[str, _Draft]:
    c, k, m = schema.connections, schema.consumers, schema.meters
    rows = conn.execute(
        sa.select(c.c.service_no, k.c.name, c.c.category, c.c.sanctioned_load_w, m.c.serial, c.c.language)
        .select_from(c.join(k, k.c.id == c.c.consumer_id).join(m, m.c.service_no == c.c.service_no))
        .where(c.c.service_no >= first, c.c.service_no <= last)
    )
    return {row[0]: _Draft(*row) for row in rows if row[0] in wanted}


def _pending(conn: Connection, month: st.Month, first: str, last: str, drafts: dict[str, _Draft]) -> None:
    """Readings up to the month's end are in but the daily cycle has not rated them yet: wait."""
    s = schema.prepaid_state
    rows = conn.execute(
        sa.select(s.c.service_no).where(
            s.c.service_no >= first,
            s.c.service_no <= last,
            s.c.billed_through < month.end,
            s.c.last_read_date > s.c.billed_through,
        )
    ).scalars()
    for no in rows:
        if no in drafts:
            drafts[no].pending = True


def _add_days(
    conn: Connection, month: st.Month, first: str, last: str, drafts: dict[str, _Draft]
) -> dict[str, int]:
    """Each draft's days not billed yet, up to the month's end, from the running totals where they
    are exactly that (the usual night), else from the rows; returns the last id taken of each."""
    totals = unbilled.read_range(conn, first=first, last=last)
    taken: dict[str, int] = {}
    from_rows: list[str] = []
    for no, d in drafts.items():
        if d.pending:
            continue
        t = totals.get(no)
        if t is None or not t.usable_for(month.end):
            from_rows.append(no)
            continue
        d.wh, d.days, d.charges = t.wh, t.days, t.amount
        d.first_day, d.last_day = t.first_day, t.last_day
        d.components.update(t.components)
        taken[no] = t.upto_id
    if from_rows:
        wanted = set(from_rows)
        days = [
            day
            for day in _charges.untaken(conn, first=min(from_rows), last=max(from_rows), before=month.end)
            if day.service_no in wanted
        ]
        for _, no, day, wh, amount, items in days:
            d = drafts[no]
            d.wh += wh
            d.days += 1
            d.charges += amount
            d.first_day = day if d.first_day is None else min(d.first_day, day)
            d.last_day = day if d.last_day is None else max(d.last_day, day)
            for component, paise in orjson.loads(items):
                d.components[component] += paise
        taken.update(_charges.last_ids(days))
    return taken


def _restart_totals(conn: Connection, service_nos: Sequence[str], month: st.Month) -> None:
    """After a chunk's bills: their totals start again, made from any rows still not taken (days
    after the month, when the bill run came late)."""
    unbilled.forget(conn, service_nos)
    if not service_nos:
        return
    wanted = set(service_nos)
    left = [
        d
        for d in _charges.untaken(conn, first=min(service_nos), last=max(service_nos), since=month.end)
        if d.service_no in wanted
    ]
    unbilled.rebuild(conn, left)


def _payments(conn: Connection, month: st.Month, first: str, last: str) -> dict[str, int]:
    p = schema.postpaid_payments
    rows = conn.execute(
        sa.select(p.c.service_no, sa.func.sum(p.c.amount))
        .where(
            p.c.service_no >= first,
            p.c.service_no <= last,
            p.c.paid_at >= month.start_utc(),
            p.c.paid_at < month.end_utc(),
        )
        .group_by(p.c.service_no)
    )
    return {no: int(total) for no, total in rows}


def _content(
    d: _Draft,
    month: st.Month,
    *,
    arrears: Sequence[_items.Unpaid],
    receivable: int,
    advance: int,
    use: int,
    payable: int,
    due_on: dt.date,
    issued_on: dt.date,
    paid: int,
    deposit: int,
) -> dict[str, Any]:
    """What is stored and hashed: plain JSON types, every figure the ledger's or the meter's."""
    return {
        "mode": "postpaid",
        "service_no": d.service_no,
        "consumer": d.name,
        "category": d.category,
        "load_w": d.load_w,
        "meter": d.meter,
        "language": d.language,
        "month": str(month),
        "issued_on": issued_on.isoformat(),
        "first_day": None if d.first_day is None else d.first_day.isoformat(),
        "last_day": None if d.last_day is None else d.last_day.isoformat(),
        "days": d.days,
        "units_wh": d.wh,
        "components": [[c, p] for c, p in sorted(d.components.items()) if p],
        "charges": d.charges,
        "arrears": receivable,
        "arrears_items": [[item.label, item.owed] for item in arrears],
        "advance_before": advance,
        "advance_applied": use,
        "advance_left": advance - use,
        "payable": payable,
        "due_on": due_on.isoformat(),
        "paid_in_month": paid,
        "deposit": deposit,
        # The columns every bill has (the prepaid names): owed before and after, money paid in.
        "opening_balance": receivable - advance,
        "closing_balance": payable - (advance - use),
        "recharged": paid,
    }
